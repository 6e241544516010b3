"""docs/performance.md: one section per kind of measurement, each written whole by one command.

`robustbench-ft bench` writes the ratios section, `bench --scale` the full-size rehearsal, `bench
--gpu` the GPU check; each section names its command, its machine and its date, and a command
rewrites its own section alone, so every figure comes from the command its section names.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from ...core.atomic import atomic_write_text

READING = """\
## What each figure is
- **Step ratios**: each method's training step (the trainer's own step: data, forward, loss
  terms, backward, AdamW, the method's after-step) divided by FT's in the same round, the
  variants run alternately (FT, LP-FT, Lipsum-FT, bare loop, frozen forward, FT, ...) after a
  warm-up round; median of the per-round ratios, lowest–highest in brackets. LP-FT's probe head
  is a stand-in (its step costs the same whatever the head).
- **Frozen forward every step**: Lipsum-FT as it runs where augmentation makes every batch new
  (DomainNet's and ImageNet's random resized crops): the zero-shot image encoder's forward, without
  autograd, on each batch. Its **floor** is FT's step plus that forward alone, timed in the same
  rounds: no exact schedule can go below it, because the regulariser needs the zero-shot
  features of the very images of the step. What Lipsum-FT adds beyond the floor is its text side
  (the random texts, encoded at their own length) and the two energy products.
- **Flips only / without augmentation**: where each training image reaches the model as one or
  two known input tensors (the embedded world flips, `augment: []` flips nothing), Lipsum-FT and
  CAR-FT read the zero-shot features from a table computed once per orientation and looked up by
  the inputs' exact bits (methods/frozen_features.py); the frozen forward leaves the step.
- **Trainer / bare loop**: the trainer's FT step against forward, cross-entropy, backward and
  AdamW written by hand, on the same batches.
- **Evaluation throughput / bare forward**: a full evaluation (every test split, every metric
  against the stored zero-shot outputs) against the classifier's forward alone over the same
  inputs prepared in memory beforehand; above 1 is noise.
- **WiSE in one pass / 11 evaluations, in memory**: the 11 α of one run evaluated together, each
  split read once and every α run on each batch, against the 11 models evaluated one after
  another. The embedded world's splits are tensors in memory: there is no decoding to share, and
  the 11 forward passes, which no schedule can share (each α is a different network), are the
  whole cost. α = 0 is the zero-shot network exactly, so both schedules reuse its stored outputs.
- **JPEG files**: the embedded world's images written as JPEG class folders at 224 px (a `folder`
  benchmark; tools/bench/files.py), 10 test images per class and split. The 11 evaluations each decode
  every file, as the harness did before this work; the one-pass curve decodes each file once; the
  cache row reads the resized pixels from the evaluation cache that the first evaluation of the
  files wrote (every later run on them). With a small model the decoding dominates, as with
  ViT-B/16 on a GPU.
- **Zero-shot head**: the text tower of a random-initialised ViT-B-16 encoding the 80 OpenAI
  templates of a class (ImageNet class names, which open_clip ships) at their own length against
  CLIP's full 77 positions; the whole heads are that per-class time times the classes.
- **GPU path** (rows appear where CUDA is): bf16 autocast, fused AdamW, pinned memory and
  non-blocking copies, `--compile` as an option; none changes a CPU result. Channels-last memory
  format is not used: a ViT's only convolution is its patch embedding, so it has nothing to gain.
- **Training memory**: in a fresh process per method, the high-water mark of resident memory (on
  a GPU, of allocated memory) over a few steps, less what the process held before the method and
  model were built (tools/bench/memory.py); Lipsum-FT runs its frozen forward every step there.
- **README default**: `robustbench-ft run` then `report --plots` into an empty results folder, as
  `make demo` runs them after its install; the data cache of the embedded world already exists.
- **Reports**: 10,000 synthetic records (3,335 run folders) collected and rendered, the middle of
  three repetitions.
"""


HEADER = ("# Performance\n\nEach section below is written whole by the command it names "
          "(robustbench_ft/tools/bench/); every figure in it comes from that one run. Rerun it to check "
          "or refresh them.\n")
SECTIONS = ("ratios", "scale", "gpu")  # their order in the file


def _markers(key: str) -> tuple[str, str]:
    return f"<!-- section {key}: written by robustbench-ft bench -->", f"<!-- end of section {key} -->"


def write_section(path: Path, key: str, text: str) -> None:
    """Put `text` in place of section `key` of the document, keeping the other sections."""
    sections = {}
    if path.is_file():
        current = path.read_text()
        for name in SECTIONS:
            begin, end = _markers(name)
            if begin in current and end in current:
                sections[name] = current.split(begin, 1)[1].split(end, 1)[0].strip("\n")
    sections[key] = text.strip("\n")
    body = "".join(f"\n{_markers(k)[0]}\n{sections[k]}\n{_markers(k)[1]}\n" for k in SECTIONS if k in sections)
    atomic_write_text(path, HEADER + body)


def measured(title: str, command: str, machine: str, table: str, missing: list[str], reading: str = "") -> str:
    """A section: its title, command, day, machine, table, how to read it, what it did not measure."""
    day = datetime.date.today().isoformat()
    absent = "".join(f"- {line}\n" for line in missing) or "- nothing: every figure of the table was measured.\n"
    return (f"## {title}\n\n- Command: `{command}`\n- Measured: {day}\n- Machine: {machine}\n\n{table}\n"
            f"{reading}\n### Not measured in this run\n{absent}")


def write_performance(path: Path, table: str, machine: str, command: str, missing: list[str]) -> None:
    """The ratios section: `robustbench-ft bench`'s table, how to read it, what it did not measure."""
    write_section(path, "ratios", measured("Ratios (the harness against its own baselines)", command, machine,
                                           table, missing, READING.replace("## What each figure is",
                                                                           "### What each figure is")))
