# The tidy results store (single source of every table and figure) and the suite's report.


rule aggregate:
    input:
        metrics=metric_files(),
        status=status_files(),
    output:
        store=RESULTS + "/store.csv",
    log:
        RESULTS + "/logs/aggregate.log",
    shell:
        "{PY} -m gans aggregate --suite-file {SUITE_FILE} --results {RESULTS} "
        "--out {output.store} 2>&1 | tee {log}"


rule report:
    input:
        store=RESULTS + "/store.csv",
        grids=sample_grids(),
    output:
        index=REPORT_DIR + "/README.md",
    log:
        RESULTS + "/logs/report.log",
    shell:
        "{PY} -m gans report --suite-file {SUITE_FILE} --results {RESULTS} "
        "--out {REPORT_DIR} 2>&1 | tee {log}"


def report_outputs():
    return [REPORT_DIR + "/README.md"]
