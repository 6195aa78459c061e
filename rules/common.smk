# Config and suite loading, validation, and the functions the rule files call. Every path comes
# from the one results layout (gans/layout.py), which the report reads too. Functions live here
# and rules in the other files (snakemake --lint: no functions beside rules).
#
# Lints left on purpose (snakemake --lint):
# - "Specify a conda environment or container for each rule": every job runs `python -m gans`
#   in the interpreter Snakemake itself runs in (PY below: the project's .venv, or the conda env
#   of environment.yml when Snakemake was started from it), so the software is the one the
#   workflow was started with and is recorded per run (status.json provenance).
from gans.layout import (REAL, ResultsLayout, classifier_recipe, classifier_weights_for, dataset_kind,
                         domain_floors, evaluated_models, extractors_for, floor_name, runs,
                         truncation_runs, two_domain_evaluation)
from gans.portable import PORTABLE_ENV, check_portable_cpu
from gans.tasks import TASKS
from gans.report import layout as report_layout
from gans.report.roadmap import mixes_styles
from gans.suite import (domain_task_for, gpus_per_job, load_checked_suite, model_config_for,
                        rule_device, rule_resources, steps_for, tensorboard_every,
                        toy_protocol_for, train_launcher, truncation_for)

PY = sys.executable  # the interpreter Snakemake runs in (the project's .venv)

validate(config, "../config/schema.yaml")

# Portable mode (README: Reproducing the committed reports): every job runs under the numeric
# settings that give the same bits on any x86-64 machine with AVX2 (gans/portable.py). The
# libraries read them at start-up, and jobs inherit Snakemake's environment.
PORTABLE = str(config.get("portable", False)).lower() == "true"
if PORTABLE:
    check_portable_cpu()
    os.environ.update(PORTABLE_ENV)
SUITE_FILE = config.get("suite_file") or f"benchmarks/{config['suite']}.yaml"
# schema, name = file name, then registry names, budgets, resources, ...: one line naming the field
SUITE = load_checked_suite(SUITE_FILE, schema=f"{workflow.basedir}/config/suite.schema.yaml")

SUITE_NAME = SUITE["name"]
EVALUATION = SUITE["evaluation"]
INCEPTION = config.get("inception") or {}
HAS_INCEPTION = bool(INCEPTION.get("weights"))  # image datasets get inception-v3-compat too
LAYOUT = ResultsLayout.for_suite(config["results_dir"], config["reports_dir"], SUITE_NAME)

wildcard_constraints:
    dataset="[a-z0-9-]+",
    model="[a-z0-9-]+",
    extractor="[a-z0-9-]+",
    seed=r"\d+",
    split="train|test",
    n=r"\d+",
    truncation=r"[0-9][0-9.e+-]*",
    domain="a|b",
    domain_task="[a-z0-9-]+",
    task="|".join(name for name in TASKS.names() if TASKS.get(name).two_domain),


def resources_of(name):
    """mem_mb, runtime (and gpu for training) of a rule: the suite's, else the defaults."""
    return rule_resources(SUITE, name)


def suite_extractors(dataset):
    return extractors_for(SUITE, dataset, HAS_INCEPTION)


def inception_flag():
    """Tells aggregate and report that the workflow evaluated with Inception too."""
    return "--inception" if HAS_INCEPTION else ""


def device_options(rule):
    """--device (and the GPU lock base) of a rule's jobs: the configured device where the suite
    gives the rule a GPU in its resources, else cpu (gans.suite.rule_device)."""
    device = rule_device(SUITE, rule, config["device"])
    return f"--device {device} {gpu_lock_option()}".rstrip() if device != "cpu" else "--device cpu"


def gpu_lock_option():
    """--gpu-lock-dir BASE when the config names one; else the job's node picks its temp dir."""
    base = config.get("gpu_lock_dir")
    return f"--gpu-lock-dir {base}" if base else ""


def domain_task_option(wc):
    """--domain-task NAME for train and sample when the suite gives the model a two-domain task."""
    task = domain_task_for(SUITE, wc.model)
    return f"--domain-task {task}" if task else ""


def truncation_option(wc):
    """--truncation PSI for sample when the suite asks for it and the model samples truncated."""
    psi = truncation_for(SUITE, wc.model)
    return "" if psi is None else f"--truncation {psi}"


# ----------------------------------------------------------------------------- file lists
def metric_files():
    return [LAYOUT.metrics_file(dataset, extractor, model, seed)
            for dataset in SUITE["datasets"] for extractor in suite_extractors(dataset)
            for model in evaluated_models(SUITE) for seed in SUITE["seeds"]]


def truncation_metric_files():
    """The truncation sweep's metrics (evaluation.truncation_sweep): every model that samples
    truncated, at every value, under every extractor of its dataset; none without a sweep."""
    return [LAYOUT.truncated_metrics_file(dataset, extractor, model, seed, truncation)
            for dataset, model, seed, truncation in truncation_runs(SUITE)
            for extractor in suite_extractors(dataset)]


def status_files():
    return [LAYOUT.status_file(d, m, s) for d, m, s in runs(SUITE)]


def loss_files():
    return [LAYOUT.losses_file(d, m, s) for d, m, s in runs(SUITE)]


def final_weights_files():
    return [LAYOUT.final_weights(d, m, s) for d, m, s in runs(SUITE)]


def samples_files():
    return [LAYOUT.samples_file(d, m, s) for d, m, s in runs(SUITE)]


def report_sources():
    """Every result the store and the report are made from (rule all asks for them too)."""
    return [LAYOUT.store_file(), *metric_files(), *status_files(), *loss_files(), *samples_files()]
def panel_data_files():
    """Two-domain panels show held-out test images beside the model's."""
    if not domain_floors(SUITE):
        return []
    return [LAYOUT.data_file(d, "test") for d in SUITE["datasets"] if dataset_kind(d) == "image"]


def toy_data_files():
    """The toy report draws the true modes from the prepared train split."""
    return [LAYOUT.data_file(d, "train") for d in SUITE["datasets"] if dataset_kind(d) == "points"]


def style_mixing_weights():
    """The style-mixing figures generate images from the first seed's trained weights."""
    return [LAYOUT.final_weights(d, m, SUITE["seeds"][0]) for d in SUITE["datasets"]
            if dataset_kind(d) != "points" for m in SUITE["models"] if mixes_styles(m)]


def report_targets():
    """Every figure and table of reports/<suite>/ that Snakemake's HTML report shows."""
    return [report(f"{LAYOUT.report_dir}/{item.path}", category=item.category,
                   caption=item.caption, labels=dict(item.labels))
            for item in report_layout.report_items(SUITE, HAS_INCEPTION)]


# ----------------------------------------------------------------------------- evaluation
def extractor_args(wc):
    """Where the extractor's weights are, as evaluate / real-features options: for the classifier
    the dataset's frozen evaluator (checked against its card at every load), or the one that
    train_classifier trains when the suite sets evaluation.classifier.source to retrain, and
    for datasets without a frozen evaluator."""
    if wc.extractor == "classifier":
        return f"--classifier {classifier_weights_for(LAYOUT, SUITE, wc.dataset)}"
    if wc.extractor == "inception-v3-compat":
        args = f"--inception-weights {INCEPTION['weights']}" if INCEPTION.get("weights") else ""
        return args + (f" --inception-sha256 {INCEPTION['sha256']}" if INCEPTION.get("sha256") else "")
    return ""


def extractor_inputs(wc):
    if wc.extractor == "classifier":
        return [classifier_weights_for(LAYOUT, SUITE, wc.dataset)]
    return []


def classifier_test_inputs(wc):
    """Real features under the classifier re-measure its accuracy on the dataset's test split."""
    return [LAYOUT.data_file(wc.dataset, "test")] if wc.extractor == "classifier" else []


def classifier_test_args(wc):
    return f"--classifier-test {LAYOUT.data_file(wc.dataset, 'test')}" if wc.extractor == "classifier" else ""


def classifier_recipe_args(wc):
    """train_classifier's recipe and the suite's overrides (evaluation.classifier)."""
    recipe, overrides = classifier_recipe(SUITE)
    return " ".join([f"--recipe {recipe}", *(f"--set {k}={v}" for k, v in overrides.items())])


def real_reference(wc):
    """Toy metrics compare with the mixture itself; image metrics with cached real features (of
    the primary output's domain for two-domain models and their floors)."""
    if wc.extractor == "toy":
        return LAYOUT.data_file(wc.dataset, "train")
    two_domain = two_domain_evaluation(SUITE, wc.model)
    if two_domain:
        task = TASKS.get(two_domain[0])
        return domain_reference(wc, two_domain[1], task.output_domains[task.primary])
    return LAYOUT.real_features(wc.dataset, wc.extractor, EVALUATION["real_split"],
                                EVALUATION["n_real"])


def domain_reference(wc, domain_task, domain):
    return LAYOUT.domain_features(wc.dataset, wc.extractor, domain_task, domain,
                                  EVALUATION["real_split"], EVALUATION["n_real"])


def other_domains(wc):
    """domain -> real features of the two-domain task's domains beyond the primary output's."""
    two_domain = two_domain_evaluation(SUITE, wc.model)
    if not two_domain or wc.extractor == "toy":
        return {}
    task = TASKS.get(two_domain[0])
    primary = task.output_domains[task.primary]
    return {d: domain_reference(wc, two_domain[1], d)
            for d in sorted(set(task.output_domains.values()) - {primary})}


def domain_inputs(wc):
    """Two-domain evaluations: the other domains' features and the held-out test split."""
    if not two_domain_evaluation(SUITE, wc.model) or wc.extractor == "toy":
        return []
    return [*other_domains(wc).values(), LAYOUT.data_file(wc.dataset, "test")]


def toy_args(wc):
    """--toy-protocol NAME for toy evaluations: the protocol the suite names (or the default)."""
    return f"--toy-protocol {toy_protocol_for(SUITE)}" if wc.extractor == "toy" else ""


def domain_args(wc):
    """--domain-real d=... for each other domain and --source-data for two-domain evaluations."""
    if not two_domain_evaluation(SUITE, wc.model) or wc.extractor == "toy":
        return ""
    refs = " ".join(f"--domain-real {d}={path}" for d, path in other_domains(wc).items())
    return f"{refs} --source-data {LAYOUT.data_file(wc.dataset, 'test')}"
