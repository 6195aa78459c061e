# The tidy results store (single source of every table and figure) and the suite's report.
from gans.report import layout as report_layout


def report_extractors():
    return {d: extractors_for(d) for d in SUITE["datasets"]}


def report_targets():
    """Every figure and table of reports/<suite>/ that Snakemake's HTML report shows."""
    return [report(f"{REPORT_DIR}/{item.path}", category=item.category,
                   caption=item.caption, labels=dict(item.labels))
            for item in report_layout.report_items(SUITE, report_extractors())]


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
        samples=[SAMPLES.format(dataset=d, model=m, seed=s) + ".pt" for d, m, s in runs()],
        losses=[RUN.format(dataset=d, model=m, seed=s) + "/losses.csv" for d, m, s in runs()],
        toy_data=[data_file(d, "train") for d in SUITE["datasets"] if not is_image_dataset(d)],
    output:
        index=REPORT_DIR + "/README.md",
        figures=report_targets(),
    log:
        RESULTS + "/logs/report.log",
    shell:
        "{PY} -m gans report --suite-file {SUITE_FILE} --results {RESULTS} "
        "--out {REPORT_DIR} 2>&1 | tee {log}"


def report_outputs():
    return [REPORT_DIR + "/README.md"]
