"""Records -> tidy frame -> tables and figures. Never imports torch, the trainer or the models."""
