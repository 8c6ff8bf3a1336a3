# Optional interpretation of trained DNA models: first-layer motifs (or TF-MoDISco patterns,
# `motifs: method:`) matched to JASPAR, and per-base attributions. Off by default; `interpret: true`
# in the config adds them to `all`, or ask for one target, e.g.
# `snakemake --cores 2 results/REST/tfbind/motifs/motifs.html`.

# The files `dnacnn motifs --method M` writes besides motifs.html: the filters' for `filters`, the
# TF-MoDISco patterns' for `modisco`, both for `both`. Only the configured method's files are
# declared outputs, so none is ever missing.
MOTIF_METHOD = config["motifs"]["method"]
MOTIF_FILES = {
    "html": "motifs.html",
    **({"meme": "filters.meme", "matches": "tomtom.tsv"} if MOTIF_METHOD != "modisco" else {}),
    **(
        {
            "pattern_meme": "modisco_patterns.meme",
            "patterns": "modisco_patterns.tsv",
            "pattern_matches": "modisco_tomtom.tsv",
        }
        if MOTIF_METHOD != "filters"
        else {}
    ),
}


rule motifs:
    """First-layer filters and/or TF-MoDISco patterns as PWMs (MEME), logos and Tomtom matches to
    JASPAR 2024 (offline)."""
    input:
        model="results/{dataset}/{model}/model.dnacnn",
        store="results/{dataset}/store",
    output:
        **{name: f"results/{{dataset}}/{{model}}/motifs/{file}" for name, file in MOTIF_FILES.items()},
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.html),
        args=lambda wildcards: cli_args(
            {
                "--method": MOTIF_METHOD,
                "--attribution": config["motifs"]["attribution"] if MOTIF_METHOD != "filters" else None,
            }
        ),
    log:
        "results/logs/motifs/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/motifs/{dataset}/{model}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn motifs {input.model:q} {input.store:q} -o {params.outdir:q} {params.args} > {log:q} 2>&1"


rule explain:
    """In-silico saturation mutagenesis of the dataset's test sequences."""
    input:
        model="results/{dataset}/{model}/model.dnacnn",
        sequences=lambda wildcards: DATASETS[wildcards.dataset]["test_input"] or DATASETS[wildcards.dataset]["input"],
    output:
        attributions="results/{dataset}/{model}/explain/attributions.tsv",
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.attributions),
        args=lambda wildcards: cli_args(
            {
                "--format": DATASETS[wildcards.dataset]["format"],
                "--seq-col": DATASETS[wildcards.dataset]["seq_col"],
                "--id-col": DATASETS[wildcards.dataset]["id_col"],
            }
        ),
    log:
        "results/logs/explain/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/explain/{dataset}/{model}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn explain {input.model:q} {input.sequences:q} -o {params.outdir:q} {params.args} > {log:q} 2>&1"
