# Evaluation: the domain classifier (trained here, fixed seed), real-data features computed once
# per (dataset, split, extractor, n), and one metrics file per (model, seed, extractor).


def extractor_args(extractor, dataset):
    if extractor == "classifier":
        return f"--classifier {EXTRACTOR_DIR}/classifier-{dataset}.pt"
    if extractor == "inception-v3-compat":
        args = f"--inception-weights {INCEPTION['weights']}" if INCEPTION.get("weights") else ""
        return args + (f" --inception-sha256 {INCEPTION['sha256']}" if INCEPTION.get("sha256") else "")
    return ""


def extractor_inputs(wc):
    if wc.extractor == "classifier":
        return [f"{EXTRACTOR_DIR}/classifier-{wc.dataset}.pt"]
    return []


rule train_classifier:
    input:
        train=lambda wc: data_file(wc.dataset, "train"),
        test=lambda wc: data_file(wc.dataset, "test"),
    output:
        weights=f"{EXTRACTOR_DIR}/classifier-{{dataset}}.pt",
        info=f"{EXTRACTOR_DIR}/classifier-{{dataset}}.json",
    log:
        f"{RESULTS_ROOT}/logs/classifier-{{dataset}}.log",
    benchmark:
        f"{RESULTS_ROOT}/benchmarks/classifier-{{dataset}}.tsv"
    threads: 1  # the recipe: 1 thread (the weights, and so every metric, depend on the thread count)
    shell:
        "{PY} -m gans train-classifier --train {input.train} --test {input.test} --seed 0 "
        "--out {output.weights} --info {output.info} --threads {threads} 2>&1 | tee {log}"


rule real_features:
    input:
        data=lambda wc: data_file(wc.dataset, wc.split),
        extractor=extractor_inputs,
    output:
        f"{RESULTS_ROOT}/real-features/{{dataset}}/{{extractor}}/{{split}}-n{{n}}.pt",
    log:
        f"{RESULTS_ROOT}/logs/real-features/{{dataset}}-{{extractor}}-{{split}}-n{{n}}.log",
    params:
        extractor=lambda wc: extractor_args(wc.extractor, wc.dataset),
    shell:
        "{PY} -m gans real-features --data {input.data} --extractor {wildcards.extractor} "
        "{params.extractor} --n {wildcards.n} --out {output} 2>&1 | tee {log}"


def real_reference(wc):
    """Toy metrics compare with the mixture itself; image metrics with cached real features."""
    if wc.extractor == "toy":
        return data_file(wc.dataset, "train")
    return (f"{RESULTS_ROOT}/real-features/{wc.dataset}/{wc.extractor}/"
            f"{EVALUATION['real_split']}-n{EVALUATION['n_real']}.pt")


rule evaluate:
    input:
        samples=SAMPLES + ".pt",
        real=real_reference,
        extractor=extractor_inputs,
    output:
        METRICS,
    log:
        RESULTS + "/logs/evaluate/{dataset}/{extractor}/{model}/seed{seed}.log",
    benchmark:
        RESULTS + "/benchmarks/evaluate/{dataset}/{extractor}/{model}/seed{seed}.tsv"
    params:
        extractor=lambda wc: extractor_args(wc.extractor, wc.dataset),
    shell:
        "{PY} -m gans evaluate --samples {input.samples} --real {input.real} "
        "--extractor {wildcards.extractor} {params.extractor} --out {output} 2>&1 | tee {log}"
