# Training (one job per model x dataset x seed) and evaluation samples.
# Checkpoints live outside the declared outputs, which Snakemake deletes before a job starts,
# so a rerun of a killed job resumes from its newest valid checkpoint. With the suite's
# gpus_per_job N > 1 a training job is N processes started by torchrun (N GPUs, or N gloo
# processes on a CPU), each with threads_per_job torch threads; TensorBoard event files go to
# the run folder's tensorboard/ (gans/tensorboard_log.py).
# (snakemake --lint: the conda/container note on each rule here is left on purpose, see common.smk)


rule train:
    input:
        data=LAYOUT.data_file(split="train"),
    output:
        final=LAYOUT.final_weights(),
        losses=LAYOUT.losses_file(),
        status=LAYOUT.status_file(),
    log:
        LAYOUT.train_log(),
    benchmark:
        LAYOUT.train_benchmark()
    threads: config["threads_per_job"] * gpus_per_job(SUITE)
    resources:
        **resources_of("train"),
    # Longest budgets first, before any sampling or evaluation: on a few cores the run then ends
    # on short jobs instead of one long training job (measured: 33 -> under 30 min, README).
    priority: lambda wc: steps_for(SUITE, wc.model)
    params:
        launch=train_launcher(SUITE, PY),
        threads_per_process=lambda wc, threads: max(1, threads // gpus_per_job(SUITE)),
        out_dir=lambda wc, output: os.path.dirname(output.status),
        checkpoints=LAYOUT.checkpoint_dir(),
        steps=lambda wc: steps_for(SUITE, wc.model),
        batch_size=SUITE["budget"]["batch_size"],
        checkpoint_every=SUITE["budget"].get("checkpoint_every", 200),
        model_config=lambda wc: json.dumps(model_config_for(SUITE, wc.model)),
        suite=SUITE_NAME,
        device=device_options("train"),
        domain_task=domain_task_option,
        tensorboard_every=tensorboard_every(SUITE),
    shell:
        "{params.launch} train --model {wildcards.model} --data {input.data} "
        "--out-dir {params.out_dir} --checkpoint-dir {params.checkpoints} "
        "--seed {wildcards.seed} --steps {params.steps} --batch-size {params.batch_size} "
        "--checkpoint-every {params.checkpoint_every} --model-config '{params.model_config}' "
        "--suite {params.suite} --threads {params.threads_per_process} {params.device} "
        "--tensorboard-every {params.tensorboard_every} "
        "{params.domain_task} 2>&1 | tee {log}"


rule sample:
    input:
        status=LAYOUT.status_file(),
        final=LAYOUT.final_weights(),
        source=LAYOUT.data_file(split="test"),  # the dataset's real test split
    output:
        samples=LAYOUT.samples_file(),
        grid=report(LAYOUT.samples_grid(), category="Samples", subcategory="{dataset}",
                    caption="captions/sample_grid.rst",
                    labels={"model": "{model}", "dataset": "{dataset}", "seed": "{seed}"}),
    log:
        LAYOUT.sample_log(),
    resources:
        **resources_of("sample"),
    params:
        py=PY,
        run_dir=lambda wc, input: os.path.dirname(input.status),
        n=EVALUATION["n_generated"],
        suite=SUITE_NAME,
        truncation=truncation_option,
        domain_task=domain_task_option,
        device=device_options("sample"),
    shell:
        "{params.py} -m gans sample --run-dir {params.run_dir} --n {params.n} "
        "--suite {params.suite} --seed {wildcards.seed} --out {output.samples} "
        "--grid {output.grid} --source-data {input.source} {params.truncation} "
        "{params.domain_task} {params.device} 2>&1 | tee {log}"


rule sample_truncated:
    """The truncation sweep: samples of a model that samples truncated, drawn at one value of the
    suite's evaluation.truncation_sweep (for the report's trade-off figure)."""
    input:
        status=LAYOUT.status_file(),
        final=LAYOUT.final_weights(),
        source=LAYOUT.data_file(split="test"),
    output:
        samples=LAYOUT.truncated_samples_file(),
        grid=LAYOUT.truncated_samples_grid(),
    log:
        LAYOUT.truncated_sample_log(),
    resources:
        **resources_of("sample"),
    params:
        py=PY,
        run_dir=lambda wc, input: os.path.dirname(input.status),
        n=EVALUATION["n_generated"],
        suite=SUITE_NAME,
        domain_task=domain_task_option,
        device=device_options("sample"),
    shell:
        "{params.py} -m gans sample --run-dir {params.run_dir} --n {params.n} "
        "--suite {params.suite} --seed {wildcards.seed} --out {output.samples} "
        "--grid {output.grid} --source-data {input.source} --truncation {wildcards.truncation} "
        "{params.domain_task} {params.device} 2>&1 | tee {log}"


rule sample_real:
    """The real-vs-real floor: a seeded train subset, evaluated like any model."""
    input:
        data=LAYOUT.data_file(split="train"),
    output:
        samples=LAYOUT.samples_file(model=REAL),
        grid=LAYOUT.samples_grid(model=REAL),
    log:
        LAYOUT.sample_log(model=REAL),
    resources:
        **resources_of("sample_real"),
    params:
        py=PY,
        n=EVALUATION["n_generated"],
        suite=SUITE_NAME,
    shell:
        "{params.py} -m gans sample-real --data {input.data} --n {params.n} --suite {params.suite} "
        "--seed {wildcards.seed} --out {output.samples} --grid {output.grid} 2>&1 | tee {log}"


rule sample_real_domain:
    """The floor of a two-domain task: real train images of each domain in its samples format."""
    input:
        data=LAYOUT.data_file(split="train"),
        test=LAYOUT.data_file(split="test"),
    output:
        samples=LAYOUT.samples_file(model=floor_name("{task}", "{domain_task}")),
        grid=LAYOUT.samples_grid(model=floor_name("{task}", "{domain_task}")),
    log:
        LAYOUT.sample_log(model=floor_name("{task}", "{domain_task}")),
    resources:
        **resources_of("sample_real"),
    params:
        py=PY,
        n=EVALUATION["n_generated"],
        suite=SUITE_NAME,
    shell:
        "{params.py} -m gans sample-real --data {input.data} --n {params.n} --suite {params.suite} "
        "--seed {wildcards.seed} --domain-task {wildcards.domain_task} --task {wildcards.task} "
        "--source-data {input.test} --out {output.samples} --grid {output.grid} 2>&1 | tee {log}"


ruleorder: sample_real > sample_real_domain > sample
