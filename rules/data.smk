# Data: one uint8 tensor file per dataset and split, shared by every suite.
# (snakemake --lint: the conda/container note on each rule here is left on purpose, see common.smk)


rule prepare_data:
    output:
        LAYOUT.data_file(),
    log:
        LAYOUT.prepare_log(),
    resources:
        **resources_of("prepare_data"),
    params:
        py=PY,
        raw_root=config["data"]["raw_root"],
        source=f"--source-dir {config['data']['source_dir']}" if config["data"].get("source_dir") else "",
        no_download="" if config["data"].get("allow_download", True) else "--no-download",
        no_apt="" if config["data"].get("allow_apt", True) else "--no-apt",
    shell:
        "{params.py} -m gans prepare --dataset {wildcards.dataset} --split {wildcards.split} "
        "--out {output} --raw-root {params.raw_root} {params.source} {params.no_download} "
        "{params.no_apt} 2>&1 | tee {log}"
