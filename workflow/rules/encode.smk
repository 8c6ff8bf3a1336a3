rule encode:
    """Encode a dataset's training input into a tensor store (train/valid/test split inside)."""
    input:
        unpack(encode_inputs),
    output:
        directory("results/{dataset}/store"),
    params:
        args=encode_args,
    log:
        "results/logs/encode/{dataset}.log",
    benchmark:
        "results/benchmarks/encode/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn encode {input.input:q} -o {output:q} {params.args} --no-progress > {log:q} 2>&1"


rule encode_test:
    """Encode a dataset's external test file (e.g. DeepBind's _B file) into a test-only store."""
    input:
        unpack(encode_test_inputs),
    output:
        directory("results/{dataset}/test_store"),
    params:
        args=encode_test_args,
    log:
        "results/logs/encode_test/{dataset}.log",
    benchmark:
        "results/benchmarks/encode_test/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/dnacnn.yaml"
    shell:
        "dnacnn encode {input.input:q} -o {output:q} {params.args} --no-progress > {log:q} 2>&1"
