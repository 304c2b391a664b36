"""What the service keeps besides checkpoints: threads and runs, in the checkpointer's database."""
