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
