rule evaluate:
    """Score one trained model on its test data: metrics, predictions and an HTML report,
    with a baseline (k-mer logistic regression or ridge regression) fitted beside it.
    A seed ensemble (members: N) is scored as one model: the mean of its members' predictions."""
    input:
        unpack(evaluate_inputs),
    output:
        metrics="results/{dataset}/{model}/eval/metrics.json",
        table="results/{dataset}/{model}/eval/metrics.tsv",
        predictions="results/{dataset}/{model}/eval/predictions.tsv",
        report="results/{dataset}/{model}/eval/report.html",
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.metrics),
        title=evaluate_title,
        args=evaluate_args,
    log:
        "results/logs/evaluate/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/evaluate/{dataset}/{model}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn evaluate {input.model:q} {input.store:q} -o {params.outdir:q} --train-store {input.train_store:q}"
        " --title {params.title:q} {params.args} > {log:q} 2>&1"


rule evaluate_fold:
    """Score the model of one fold on that fold's records (a dataset with split: method: folds); the
    baseline is fitted on the same fold's training rows."""
    input:
        model="results/{dataset}/{model}/fold{fold}/model.dnacnn",
        store="results/{dataset}/store",
    output:
        metrics="results/{dataset}/{model}/fold{fold}/eval/metrics.json",
        predictions="results/{dataset}/{model}/fold{fold}/eval/predictions.tsv",
        report="results/{dataset}/{model}/fold{fold}/eval/report.html",
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.metrics),
        title=lambda wildcards: f"{wildcards.model} on {wildcards.dataset}, fold {wildcards.fold}",
        args=lambda wildcards: cli_args({"--device": config["device"], "--no-baseline": not config["evaluate"]["baseline"]}),
    log:
        "results/logs/evaluate/{dataset}/{model}.fold{fold}.log",
    benchmark:
        "results/benchmarks/evaluate/{dataset}/{model}.fold{fold}.tsv"
    wildcard_constraints:
        fold="[0-9]+",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn evaluate {input.model:q} {input.store:q} -o {params.outdir:q} --fold {wildcards.fold}"
        " --title {params.title:q} {params.args} > {log:q} 2>&1"


rule cross_validation:
    """Per-fold, mean +- sd and pooled scores of a cross-validated run, beside RR-BLUP and (genotype
    regression) GBLUP and RKHS fitted on the same folds."""
    input:
        fold_evaluations,
    output:
        tsv="results/{dataset}/{model}/cv/cv.tsv",
        html="results/{dataset}/{model}/cv/cv.html",
        json="results/{dataset}/{model}/cv/cv.json",
        predictions="results/{dataset}/{model}/cv/predictions.tsv",
    params:
        eval_dirs=lambda wildcards, input: [os.path.dirname(f) for f in input],
        outdir=lambda wildcards, output: os.path.dirname(output.tsv),
    log:
        "results/logs/cv/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/cv/{dataset}/{model}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn cv-summary {params.eval_dirs:q} -o {params.outdir:q} > {log:q} 2>&1"
