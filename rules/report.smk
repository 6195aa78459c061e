# The tidy results store (single source of every table and figure) and the suite's report. Both
# commands find the files through gans/layout.py, as these rules declare them; --inception tells
# them the workflow evaluated with Inception too (gans.layout.extractors_for, as here).
# (snakemake --lint: the conda/container note on each rule here is left on purpose, see common.smk)


rule aggregate:
    input:
        metrics=metric_files(),
        status=status_files(),
    output:
        store=LAYOUT.store_file(),
    log:
        LAYOUT.aggregate_log(),
    resources:
        **resources_of("aggregate"),
    params:
        py=PY,
        suite_file=SUITE_FILE,
        results=lambda wc: LAYOUT.suite_dir,  # read through the layout, not an output prefix
        inception=inception_flag(),
    shell:
        "{params.py} -m gans aggregate --suite-file {params.suite_file} --results {params.results} "
        "{params.inception} --out {output.store} 2>&1 | tee {log}"


rule report:
    input:
        store=LAYOUT.store_file(),
        status=status_files(),
        samples=samples_files(),
        losses=loss_files(),
        toy_data=toy_data_files(),
        truncation=truncation_metric_files(),
        weights=style_mixing_weights(),
        panel_data=panel_data_files(),
    output:
        index=LAYOUT.report_index(),
        figures=report_targets(),
    log:
        LAYOUT.report_log(),
    resources:
        **resources_of("report"),
    params:
        py=PY,
        suite_file=SUITE_FILE,
        results=lambda wc: LAYOUT.suite_dir,  # read through the layout, not an output prefix
        out_dir=lambda wc, output: os.path.dirname(output.index),
        inception=inception_flag(),
    shell:
        "{params.py} -m gans report --suite-file {params.suite_file} --results {params.results} "
        "--out {params.out_dir} {params.inception} --store {input.store} 2>&1 | tee {log}"


# The suite's fingerprint: the content hash of every trained network and samples file and every
# metric at full precision. Two runs agree to the last bit exactly when their digests are equal
# (`python -m gans check-digest`; `make reproduce` compares against the committed one).
rule digest:
    input:
        metrics=metric_files(),
        truncation=truncation_metric_files(),
        status=status_files(),
        samples=samples_files(),
        weights=final_weights_files(),
    output:
        digest=LAYOUT.digest_file(),
    log:
        LAYOUT.digest_log(),
    resources:
        **resources_of("report"),
    params:
        py=PY,
        suite_file=SUITE_FILE,
        results=lambda wc: LAYOUT.suite_dir,
        inception=inception_flag(),
    shell:
        "{params.py} -m gans digest --suite-file {params.suite_file} --results {params.results} "
        "--out {output.digest} {params.inception} 2>&1 | tee {log}"
