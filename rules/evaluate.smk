# Evaluation: the domain classifier (a frozen evaluator shipped in gans/metrics/evaluators, or
# trained here with a fixed seed when the dataset has none or the suite asks), real-data features computed once
# per (dataset, split, extractor, n), and one metrics file per (model, seed, extractor), plus one
# per value of the suite's truncation sweep for models that sample truncated.
# (snakemake --lint: the conda/container note on each rule here is left on purpose, see common.smk)


rule train_classifier:
    input:
        train=LAYOUT.data_file(split="train"),
        test=LAYOUT.data_file(split="test"),
    output:
        weights=LAYOUT.classifier_weights(),
        info=LAYOUT.classifier_info(),
    log:
        LAYOUT.classifier_log(),
    benchmark:
        LAYOUT.classifier_benchmark()
    threads: 1  # the recipe: 1 thread (the weights, and so every metric, depend on the thread count)
    resources:
        **resources_of("train_classifier"),
    params:
        py=PY,
        recipe=classifier_recipe_args,
    shell:
        "{params.py} -m gans train-classifier --train {input.train} --test {input.test} --seed 0 "
        "{params.recipe} --out {output.weights} --info {output.info} --threads {threads} 2>&1 | tee {log}"


rule real_features:
    input:
        data=LAYOUT.data_file(),
        extractor=extractor_inputs,
        test=classifier_test_inputs,
    output:
        LAYOUT.real_features(),
    log:
        LAYOUT.real_features_log(),
    resources:
        **resources_of("real_features"),
    params:
        py=PY,
        extractor=extractor_args,
        test=classifier_test_args,
        device=device_options("real_features"),
    shell:
        "{params.py} -m gans real-features --data {input.data} --extractor {wildcards.extractor} "
        "{params.extractor} {params.test} --n {wildcards.n} {params.device} --out {output} 2>&1 | tee {log}"


rule real_features_domain:
    """Real features of one domain of a two-domain task (at most n images of the split)."""
    input:
        data=LAYOUT.data_file(),
        extractor=extractor_inputs,
        test=classifier_test_inputs,
    output:
        LAYOUT.domain_features(),
    log:
        LAYOUT.domain_features_log(),
    resources:
        **resources_of("real_features"),
    params:
        py=PY,
        extractor=extractor_args,
        test=classifier_test_args,
        device=device_options("real_features"),
    shell:
        "{params.py} -m gans real-features --data {input.data} --extractor {wildcards.extractor} "
        "{params.extractor} {params.test} --n {wildcards.n} --domain-task {wildcards.domain_task} "
        "--domain {wildcards.domain} {params.device} --out {output} 2>&1 | tee {log}"


rule evaluate:
    input:
        samples=LAYOUT.samples_file(),
        real=real_reference,
        extractor=extractor_inputs,
        domains=domain_inputs,
    output:
        LAYOUT.metrics_file(),
    log:
        LAYOUT.evaluate_log(),
    benchmark:
        LAYOUT.evaluate_benchmark()
    resources:
        **resources_of("evaluate"),
    params:
        py=PY,
        extractor=extractor_args,
        domains=domain_args,
        toy=toy_args,
        device=device_options("evaluate"),
    shell:
        "{params.py} -m gans evaluate --samples {input.samples} --real {input.real} "
        "--extractor {wildcards.extractor} {params.extractor} {params.domains} {params.toy} "
        "{params.device} --out {output} 2>&1 | tee {log}"


rule evaluate_truncated:
    """Metrics of one truncation-sweep samples file, like `evaluate` (for the trade-off figure)."""
    input:
        samples=LAYOUT.truncated_samples_file(),
        real=real_reference,
        extractor=extractor_inputs,
    output:
        LAYOUT.truncated_metrics_file(),
    log:
        LAYOUT.truncated_evaluate_log(),
    resources:
        **resources_of("evaluate"),
    params:
        py=PY,
        extractor=extractor_args,
        device=device_options("evaluate"),
    shell:
        "{params.py} -m gans evaluate --samples {input.samples} --real {input.real} "
        "--extractor {wildcards.extractor} {params.extractor} {params.device} --out {output} "
        "2>&1 | tee {log}"
