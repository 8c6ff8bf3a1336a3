rule aggregate:
    """One table and one page across all runs: dataset x model, key metrics, baseline beside them."""
    input:
        evaluations(),
    output:
        tsv="results/summary.tsv",
        html="results/summary.html",
    params:
        eval_dirs=lambda wildcards, input: [os.path.dirname(f) for f in input],
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=15,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn aggregate {params.eval_dirs:q} --tsv {output.tsv:q} --html {output.html:q} > {log:q} 2>&1"
