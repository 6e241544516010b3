"""Imports every method module so each registers itself; add a new method's module here."""

from . import (  # noqa: F401  (registering is what importing them does)
    bitfit,
    carft,
    carot,
    ema,
    ensemble,
    finetune,
    flyp,
    ftp,
    kd,
    l2sp,
    linear_probe,
    linear_probe_zs,
    lipsum,
    lora,
    lpft,
    modelstock,
    soup,
    tpgm,
    wise,
    zeroshot,
)
