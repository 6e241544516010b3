"""Where this process stands in a multi-process run: one function reads rank and world size.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; a submitit job (Slurm or local, `--gpus-per-job`
or `tasks_per_job` > 1) knows its task from the scheduler, and submitit's
TorchDistributedEnvironment exports MASTER_ADDR/PORT for `env://`. Anything else is one process.
Rank 0 logs, evaluates and writes records; every rank trains on its shard of each global batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self) -> tuple[int, int]:
        """(rank, world size): which slice of every global batch this process trains on."""
        return self.rank, self.world_size

    def device(self) -> torch.device | None:
        """This rank's GPU where there are GPUs; None lets the workbench choose (the CPU)."""
        return torch.device("cuda", self.local_rank) if torch.cuda.is_available() else None


SINGLE = DistEnv()


def read_env() -> DistEnv:
    """The rank and world size that torchrun or the scheduler (through submitit) gives this process."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return DistEnv(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                       int(os.environ.get("LOCAL_RANK", 0)))
    try:
        import submitit
        job = submitit.JobEnvironment()
    except RuntimeError:  # not inside a submitit job
        return SINGLE
    if job.num_tasks <= 1:
        return SINGLE
    env = submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    return DistEnv(env.rank, env.world_size, env.local_rank)


def init(env: DistEnv) -> None:
    """Join the process group of a multi-process run (NCCL on GPUs, gloo on the CPU); idempotent."""
    if not env.active or torch_dist.is_initialized():
        return
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(env.local_rank)
    torch_dist.init_process_group(backend, rank=env.rank, world_size=env.world_size)


def wrap(module: torch.nn.Module, env: DistEnv, device: torch.device) -> torch.nn.Module:
    """`module` in DistributedDataParallel when this run has several processes (its gradients
    averaged over the ranks in backward), else `module` itself."""
    if not env.active:
        return module
    from torch.nn.parallel import DistributedDataParallel
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def broadcast(value: object, env: DistEnv) -> object:
    """Rank 0's `value`, on every rank."""
    if not env.active:
        return value
    box = [value]
    torch_dist.broadcast_object_list(box, src=0)
    return box[0]


def mean_over_ranks(values: dict[str, float], env: DistEnv) -> dict[str, float]:
    """Each value averaged over the ranks: the global batch's mean loss terms, for the log."""
    if not env.active or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    torch_dist.all_reduce(tensor)
    return {k: float(v) / env.world_size for k, v in zip(keys, tensor.tolist())}

