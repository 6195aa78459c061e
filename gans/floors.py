"""The real-vs-real floor of a two-domain task, in the samples format of its models.

A two-domain model is compared with the real test images of each domain of its domain task, so
its floor is real images of those domains: every output of the task is filled with a seeded
subset of the real train images of the output's domain (the training halves or classes of
gans.data.domains), and evaluated like the model's samples. It is as large as the model's
samples: n, or for a task fed held-out images, no more than there are in each domain's test
images. A floor has no pairs and no reconstructions of given inputs (`floor: True`), so only the
distribution and class metrics apply to it.
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from gans.data import DOMAIN_TASKS
from gans.layout import floor_name
from gans.tasks import TASKS


def floor_size(n: int, task_name: str, domain_task: str, prepared_test: Optional[dict[str, Any]]) -> int:
    """How many samples the task's models give: n, or at most the held-out images of each domain."""
    task = TASKS.get(task_name)
    if not task.uses_source:
        return n
    if prepared_test is None:
        raise ValueError(f"the floor of {task_name!r} is as large as its held-out inputs: give the "
                         "prepared test split")
    domains = DOMAIN_TASKS.get(domain_task)
    return min([n] + [len(domains.held_out(prepared_test, d)[0]) for d in ("a", "b")])


def domain_floor(prepared_train: dict[str, Any], task_name: str, domain_task: str, n: int, seed: int,
                 suite: str) -> dict[str, Any]:
    """Real train images of each domain in the task's samples format: the floor of its models."""
    task = TASKS.get(task_name)
    if not task.two_domain:
        raise ValueError(f"task {task_name!r} has one domain: its floor is the plain real subset")
    domains = DOMAIN_TASKS.get(domain_task).train_domains(prepared_train)
    real = {"a": domains.images_a, "b": domains.images_b}
    if n > min(len(images) for images in real.values()):
        n = min(len(images) for images in real.values())
    generator = torch.Generator().manual_seed(seed)
    picked = {d: images[torch.randperm(len(images), generator=generator)[:n]].clone()
              for d, images in real.items()}
    outputs = {name: picked[domain] for name, domain in task.output_domains.items()}
    return {"model": floor_name(task_name, domain_task), "dataset": prepared_train["dataset"],
            "seed": seed, "suite": suite, "step": 0, "status": "completed", "kind": "image",
            "checkpoint_rule": f"real {prepared_train['split']} subset of each domain",
            "conditional": False, "task": task_name, "primary_output": task.primary,
            "domain_task": domain_task, "floor": True, "truncation": None, "labels": None,
            "data": outputs.pop(task.primary), "outputs": outputs, "quantization": "native uint8",
            "latent_bank_seed": None}
