# Training (one job per model x dataset x seed) and evaluation samples.
# Checkpoints live outside the declared outputs, which Snakemake deletes before a job starts,
# so a rerun of a killed job resumes from its newest valid checkpoint.


rule train:
    input:
        data=lambda wc: data_file(wc.dataset, "train"),
    output:
        final=RUN + "/final.pt",
        losses=RUN + "/losses.csv",
        status=RUN + "/status.json",
    log:
        RESULTS + "/logs/train/{dataset}/{model}/seed{seed}.log",
    benchmark:
        RESULTS + "/benchmarks/train/{dataset}/{model}/seed{seed}.tsv"
    threads: config["threads_per_job"]
    resources:
        gpu=1,
    # Longest budgets first, before any sampling or evaluation: on a few cores the run then ends
    # on short jobs instead of one long training job (measured: 33 -> under 30 min, README).
    priority: lambda wc: steps_for(SUITE, wc.model)
    params:
        steps=lambda wc: steps_for(SUITE, wc.model),
        batch_size=SUITE["budget"]["batch_size"],
        checkpoint_every=SUITE["budget"].get("checkpoint_every", 200),
        model_config=lambda wc: json.dumps(model_config_for(SUITE, wc.model)),
        checkpoints=RESULTS + "/checkpoints/{dataset}/{model}/seed{seed}",
    shell:
        "{PY} -m gans train --model {wildcards.model} --data {input.data} "
        "--out-dir $(dirname {output.status}) --checkpoint-dir {params.checkpoints} "
        "--seed {wildcards.seed} --steps {params.steps} --batch-size {params.batch_size} "
        "--checkpoint-every {params.checkpoint_every} --model-config '{params.model_config}' "
        "--suite {SUITE_NAME} --threads {threads} --device {config[device]} "
        "--gpu-lock-dir {config[gpu_lock_dir]} 2>&1 | tee {log}"


rule sample:
    input:
        status=RUN + "/status.json",
        final=RUN + "/final.pt",
    output:
        samples=SAMPLES + ".pt",
        grid=report(SAMPLES + ".png", category="Samples", subcategory="{dataset}",
                    caption="captions/sample_grid.rst",
                    labels={"model": "{model}", "dataset": "{dataset}", "seed": "{seed}"}),
    log:
        RESULTS + "/logs/sample/{dataset}/{model}/seed{seed}.log",
    params:
        n=EVALUATION["n_generated"],
    shell:
        "{PY} -m gans sample --run-dir $(dirname {input.status}) --n {params.n} "
        "--suite {SUITE_NAME} --seed {wildcards.seed} --out {output.samples} "
        "--grid {output.grid} 2>&1 | tee {log}"


rule sample_real:
    """The real-vs-real floor: a seeded train subset, evaluated like any model."""
    input:
        data=lambda wc: data_file(wc.dataset, "train"),
    output:
        samples=RESULTS + "/samples/{dataset}/real/seed{seed}.pt",
        grid=RESULTS + "/samples/{dataset}/real/seed{seed}.png",
    params:
        n=EVALUATION["n_generated"],
    shell:
        "{PY} -m gans sample-real --data {input.data} --n {params.n} --suite {SUITE_NAME} "
        "--seed {wildcards.seed} --out {output.samples} --grid {output.grid}"


ruleorder: sample_real > sample
