"""The engine: one trainer, one evaluator and the workbench every run of a (benchmark, model) shares.

    workbench.py   the frozen CLIP, zero-shot head, input pipeline and zero-shot outputs of a run
    artifacts.py   zero-shot artifacts computed once per sweep and read by every later process
    train.py       the training loop every method runs through (hooks, schedule, selection, resume)
    evaluate.py    every variant of a run evaluated in one pass; metrics.py the pure metric functions
    context.py     what a method sees of its run (methods/context.py's protocol, implemented here)
    execute.py     one spec end to end: lock, train, evaluate, record
    distributed.py, loggers.py   DDP ranks; TensorBoard and W&B beside metrics.jsonl
"""
