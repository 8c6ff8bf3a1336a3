# dnacnn workflow: encode -> train -> evaluate for every dataset x model in config/config.yaml,
# then one summary table and page; with tune: enabled, a dnacnn tune study before each training.
# See docs/workflow.md.
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/encode.smk"
include: "workflow/rules/tune.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/scan.smk"


localrules:
    all,


rule all:
    input:
        ["results/summary.tsv", "results/summary.html"] if evaluations() else [],
        cross_validations(),
        interpretations(),
        scans(),
