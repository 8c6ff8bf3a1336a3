rule train:
    """Train one model on one dataset; on a cluster this is the one job that asks for a GPU.

    --resume continues from model.dnacnn.ckpt when an earlier attempt was killed (time limit,
    preemption), so a retry or a rerun with --rerun-incomplete picks up where it stopped.
    With tune: enabled the model spec is the study's results/{dataset}/{model}/tune/best.yaml.
    Snakemake empties the log before every attempt; each attempt is also appended to
    {model}.attempts.log beside it (a line with date, host and SLURM job id, then its output), so
    the log of an attempt killed at its time limit survives its retry.
    Member k > 1 of a seed ensemble (members: N) is results/{dataset}/{model}/member{k}/; on a
    dataset with folds (split: method: folds), fold k's model is results/{dataset}/{model}/fold{k}/.
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
        attempts="results/logs/train/{dataset}/{model}.attempts.log",
    log:
        "results/logs/train/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{model}.tsv"
    wildcard_constraints:
        model="[A-Za-z0-9][A-Za-z0-9_.+-]*(/member[0-9]+|/fold[0-9]+)?",
    threads: 1
    resources:
        gpu=config["gpus_per_train"],
        gpu_model=config["gpu_model"] or None,
        mem_mb=8000,
        runtime=240,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "{{ echo \"# $(date '+%F %T') on $(hostname)${{SLURM_JOB_ID:+, SLURM job $SLURM_JOB_ID}}\";"
        " {params.launcher} train {input.store:q} -o {output.model:q} --history {output.history:q} {params.args}"
        " --threads {params.threads} --resume --no-progress; }} 2>&1 | tee -a {params.attempts:q} > {log:q}"
