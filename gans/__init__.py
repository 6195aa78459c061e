"""GAN Roadmap Bench: the classic GAN lineage, trained and measured the same way."""

__version__ = "0.1.0"
