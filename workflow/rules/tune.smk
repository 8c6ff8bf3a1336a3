# Optional hyperparameter search (tune: enabled: true in the config): an Optuna study per dataset x
# model on the store's train rows, scored on its valid rows. The train rule then uses the study's
# best.yaml as its model spec, so tuning needs no target of its own. One study alone:
# snakemake --cores 2 results/REST/tfbind/tune/best.yaml


rule tune:
    """Search one model's hyperparameters on one dataset (dnacnn tune): best spec, its model, trials."""
    input:
        unpack(tune_inputs),
    output:
        spec="results/{dataset}/{model}/tune/best.yaml",
        model="results/{dataset}/{model}/tune/best.dnacnn",
        trials="results/{dataset}/{model}/tune/trials.tsv",
    params:
        outdir=tune_dir,
        args=tune_args,
    log:
        "results/logs/tune/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/tune/{dataset}/{model}.tsv"
    threads: 1
    resources:
        gpu=min(config["gpus_per_train"], 1),
        gpu_model=config["gpu_model"] or None,
        mem_mb=8000,
        runtime=tune_runtime,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn tune {input.store:q} -o {params.outdir:q} {params.args} --threads {threads} --no-progress"
        " > {log:q} 2>&1"
