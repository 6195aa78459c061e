"""The core commands: prepare, train, sample, sample-real, list."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from gans.data import DATASETS, SPLITS, load_prepared, prepare_split
from gans.gpu_lock import add_device_arguments, job_device
from gans.models import MODELS
from gans.tasks import TASKS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("prepare", help="turn one dataset split into one uint8 tensor file")
    p.add_argument("--dataset", required=True, choices=DATASETS.names())
    p.add_argument("--split", required=True, choices=SPLITS)
    p.add_argument("--out", required=True, help="output .pt file")
    p.add_argument("--raw-root", default="data/raw", help="where raw downloads/unpacked files live")
    p.add_argument("--source-dir", default=None, help="a directory you already have the data in")
    p.add_argument("--resolution", type=int, default=None, help="square size (default: the dataset's)")
    p.add_argument("--no-download", action="store_true", help="never try torchvision's download")
    p.add_argument("--no-apt", action="store_true", help="never apt-get install a Debian data package")
    p.set_defaults(func=cmd_prepare)

    p = subparsers.add_parser("train", help="train (or resume) one model on one prepared split")
    p.add_argument("--model", required=True, choices=MODELS.names())
    p.add_argument("--data", required=True, help="prepared train split (.pt)")
    p.add_argument("--out-dir", required=True, help="gets final.pt, losses.csv, status.json")
    p.add_argument("--checkpoint-dir", required=True, help="periodic checkpoints (resume source)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1000, help="generator updates")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--model-config", default="{}", help="JSON object of hyper-parameter overrides")
    p.add_argument("--domain-task", default=None,
                   help="two-domain models: the pair of domains to train on (python -m gans list)")
    p.add_argument("--suite", default="")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--log-every", type=int, default=50)
    add_device_arguments(p, default="auto")
    p.add_argument("--deterministic", action="store_true", help="deterministic algorithms on GPU")
    p.add_argument("--tensorboard-every", type=int, default=0,
                   help="TensorBoard event files in <out-dir>/tensorboard: losses and images/s every "
                        "step, a sample grid every N steps (0, the default: none)")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("sample", help="evaluation samples of a finished run + an 8x8 grid")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--suite", required=True, help="with --seed, fixes the latent bank")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="samples .pt")
    p.add_argument("--grid", default=None, help="PNG grid of the first samples")
    p.add_argument("--truncation", type=float, default=None,
                   help="truncated sampling (psi or threshold) for models that support it; off by default")
    p.add_argument("--source-data", default=None,
                   help="prepared test split: held-out source images for translation models")
    p.add_argument("--domain-task", default=None,
                   help="two-domain models: must match the run's own domain task (a check)")
    add_device_arguments(p, default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.set_defaults(func=cmd_sample)

    p = subparsers.add_parser("sample-real", help="a seeded real subset in the samples format (the floor)")
    p.add_argument("--data", required=True, help="prepared split (.pt)")
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--suite", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--grid", default=None)
    p.add_argument("--domain-task", default=None,
                   help="the floor of a two-domain task: real images of each domain of this domain "
                        "task, in the format of --task's samples")
    p.add_argument("--task", default=None, help="with --domain-task: the two-domain task (coupled, ...)")
    p.add_argument("--source-data", default=None,
                   help="with --domain-task: the prepared test split (a task fed held-out images "
                        "gets a floor as large as they are)")
    p.set_defaults(func=cmd_sample_real)

    p = subparsers.add_parser("list", help="registered models and datasets")
    p.set_defaults(func=cmd_list)


def cmd_prepare(args: argparse.Namespace) -> int:
    options = {"source_dir": args.source_dir, "allow_download": not args.no_download,
               "allow_apt": not args.no_apt}
    record = prepare_split(args.dataset, args.split, Path(args.out), Path(args.raw_root),
                           args.resolution, options)
    print(f"[prepare] {args.dataset}/{args.split}: {tuple(record['data'].shape)} "
          f"{record['data'].dtype} sha256 {record['sha256'][:12]} -> {args.out}", flush=True)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """One training job, or one process of it when torchrun started several (each process of a
    job on GPUs takes a GPU of its own through the lock files)."""
    from gans.distributed import process_group
    from gans.train import TrainSettings, train

    settings = TrainSettings(
        model=args.model, data=args.data, out_dir=args.out_dir, checkpoint_dir=args.checkpoint_dir,
        seed=args.seed, steps=args.steps, batch_size=args.batch_size,
        checkpoint_every=args.checkpoint_every, model_config=json.loads(args.model_config),
        domain_task=args.domain_task, suite=args.suite, threads=args.threads, log_every=args.log_every,
        deterministic=args.deterministic, tensorboard_every=args.tensorboard_every)
    with job_device(args.device, args.gpu_lock_dir, "[train]") as device, process_group(device) as ranks:
        train(settings, device, ranks)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from gans.sampling import generate_samples, save_samples

    torch.set_num_threads(args.threads)
    run_task = json.loads((Path(args.run_dir) / "status.json").read_text()).get("domain_task")
    if args.domain_task and args.domain_task != run_task:
        raise SystemExit(f"sample: --domain-task {args.domain_task} but the run in {args.run_dir} "
                         f"trained on {run_task!r}")
    with job_device(args.device, args.gpu_lock_dir, "[sample]") as device:
        record = generate_samples(args.run_dir, args.n, args.suite, args.seed, device,
                                  truncation=args.truncation, source_data=args.source_data)
    save_samples(record, args.out, args.grid)
    print(f"[sample] {record['model']} seed {args.seed}: {len(record['data'])} samples "
          f"({record['status']}) -> {args.out}", flush=True)
    return 0


def cmd_sample_real(args: argparse.Namespace) -> int:
    from gans.sampling import real_subset, save_samples

    if (args.domain_task is None) != (args.task is None):
        raise SystemExit("sample-real: --domain-task and --task go together")
    if args.domain_task is None:
        record = real_subset(load_prepared(args.data), args.n, args.seed, args.suite)
    else:
        from gans.floors import domain_floor, floor_size

        test = load_prepared(args.source_data) if args.source_data else None
        n = floor_size(args.n, args.task, args.domain_task, test)
        record = domain_floor(load_prepared(args.data), args.task, args.domain_task, n, args.seed,
                              args.suite)
    save_samples(record, args.out, args.grid)
    print(f"[sample-real] {len(record['data'])} real images -> {args.out}", flush=True)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    print("models:")
    for name in MODELS.names():
        cls = MODELS.get(name)
        print(f"  {name:10s} {cls.year}  task={cls.task}  data={','.join(cls.data_kinds)}")
    print("tasks:")
    for name in TASKS.names():
        print(f"  {name:14s} {TASKS.get(name).description}")
    print("datasets:")
    for name in DATASETS.names():
        source = DATASETS.get(name)
        print(f"  {name:14s} kind={source.kind} classes={source.num_classes}")
    return 0
