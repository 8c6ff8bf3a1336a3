# Optional genome scan of trained DNA models: `scan: enabled: true` in the config adds, for every
# run on a dataset with a genome (format bed), a bigWig track of the model's scores along the genome
# (or scan.chroms / scan.regions): results/{dataset}/{model}/scan/scores.bw, or scores.{task}.bw
# per task of a multi-task model. One target alone: snakemake --cores 2 results/peaks/deepbind/scan


rule scan:
    """Scan the dataset's genome with a trained model: one bigWig of window scores per task."""
    input:
        unpack(scan_inputs),
    output:
        directory("results/{dataset}/{model}/scan"),
    params:
        args=scan_args,
    log:
        "results/logs/scan/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/scan/{dataset}/{model}.tsv"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=240,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn scan {input.model:q} {input.genome:q} -o {output:q}/scores.bw {params.args}"
        " --threads {threads} --no-progress > {log:q} 2>&1"
