# Data: one uint8 tensor file per dataset and split, shared by every suite.


rule prepare_data:
    output:
        f"{DATA_DIR}/{{dataset}}/{{split}}.pt",
    log:
        f"{RESULTS_ROOT}/logs/prepare/{{dataset}}-{{split}}.log",
    params:
        source=lambda wc: f"--source-dir {config['data']['source_dir']}" if config["data"].get("source_dir") else "",
        no_download="" if config["data"].get("allow_download", True) else "--no-download",
        no_apt="" if config["data"].get("allow_apt", True) else "--no-apt",
    shell:
        "{PY} -m gans prepare --dataset {wildcards.dataset} --split {wildcards.split} "
        "--out {output} --raw-root {config[data][raw_root]} {params.source} {params.no_download} "
        "{params.no_apt} 2>&1 | tee {log}"
