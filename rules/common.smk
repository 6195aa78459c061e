# Config and suite loading, validation, and the path scheme every rule shares.
from gans.data import DATASETS
from gans.models import MODELS
from gans.suite import check_suite, load_suite, model_config_for, steps_for

PY = sys.executable  # the interpreter Snakemake runs in (the project's .venv)

validate(config, "../config/schema.yaml")
SUITE_FILE = config.get("suite_file") or f"benchmarks/{config['suite']}.yaml"
SUITE = load_suite(SUITE_FILE)
check_suite(SUITE)  # registry names and budgets first: messages that name the field
validate(SUITE, "../config/suite.schema.yaml")

SUITE_NAME = SUITE["name"]
RESULTS_ROOT = config["results_dir"]
RESULTS = f"{RESULTS_ROOT}/{SUITE_NAME}"
REPORT_DIR = f"{config['reports_dir']}/{SUITE_NAME}"
DATA_DIR = f"{RESULTS_ROOT}/data"
EXTRACTOR_DIR = f"{RESULTS_ROOT}/extractors"
EVALUATION = SUITE["evaluation"]
INCEPTION = config.get("inception") or {}

wildcard_constraints:
    dataset="[a-z0-9-]+",
    model="[a-z0-9-]+",
    extractor="[a-z0-9-]+",
    seed=r"\d+",
    split="train|test",
    n=r"\d+",


def is_image_dataset(dataset):
    return DATASETS.get(dataset).kind == "image"


def extractors_for(dataset):
    """The suite's extractors that apply to this dataset, plus Inception when weights are configured."""
    if not is_image_dataset(dataset):
        return ["toy"]
    names = [e for e in EVALUATION["extractors"] if e != "toy"]
    if INCEPTION.get("weights") and "inception-v3-compat" not in names:
        names.append("inception-v3-compat")
    return names


def data_file(dataset, split):
    return f"{DATA_DIR}/{dataset}/{split}.pt"


RUN = RESULTS + "/runs/{dataset}/{model}/seed{seed}"
SAMPLES = RESULTS + "/samples/{dataset}/{model}/seed{seed}"
METRICS = RESULTS + "/metrics/{dataset}/{extractor}/{model}/seed{seed}.json"


def runs():
    """Every (dataset, model, seed) of the suite."""
    return [(d, m, s) for d in SUITE["datasets"] for m in SUITE["models"] for s in SUITE["seeds"]]


def metric_files():
    files = []
    for dataset in SUITE["datasets"]:
        for extractor in extractors_for(dataset):
            for seed in SUITE["seeds"]:
                models = SUITE["models"] + ["real"]
                files += [METRICS.format(dataset=dataset, extractor=extractor, model=m, seed=seed)
                          for m in models]
    return files


def status_files():
    return [RUN.format(dataset=d, model=m, seed=s) + "/status.json" for d, m, s in runs()]


def sample_grids():
    return [SAMPLES.format(dataset=d, model=m, seed=s) + ".png" for d, m, s in runs()]
