rule train:
    """Train one model on one dataset; on a cluster this is the one job that asks for a GPU.

    --resume continues from model.dnacnn.ckpt when an earlier attempt was killed (time limit,
    preemption), so a retry or a rerun with --rerun-incomplete picks up where it stopped.
    With tune: enabled the model spec is the study's results/{dataset}/{model}/tune/best.yaml.
    Member k > 1 of a seed ensemble (members: N) is results/{dataset}/{model}/member{k}/.
    """
    input:
        unpack(train_inputs),
    output:
        model="results/{dataset}/{model}/model.dnacnn",
        history="results/{dataset}/{model}/history.tsv",
    params:
        launcher=train_launcher,
        args=train_args,
        threads=train_threads,
    log:
        "results/logs/train/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{model}.tsv"
    wildcard_constraints:
        model="[A-Za-z0-9][A-Za-z0-9_.+-]*(/member[0-9]+)?",
    threads: 1
    resources:
        gpu=config["gpus_per_train"],
        gpu_model=config["gpu_model"] or None,
        mem_mb=8000,
        runtime=240,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "{params.launcher} train {input.store:q} -o {output.model:q} --history {output.history:q} {params.args}"
        " --threads {params.threads} --resume --no-progress > {log:q} 2>&1"
