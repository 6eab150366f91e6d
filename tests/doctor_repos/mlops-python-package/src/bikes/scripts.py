"""The command line: `bikes <conf.yaml>` runs the job the file describes."""

import argparse

from omegaconf import OmegaConf

from bikes.settings import MainSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bikes")
    parser.add_argument("files", nargs="+", help="job configuration files, merged in order")
    args = parser.parse_args(argv)
    config = OmegaConf.to_container(OmegaConf.merge(*map(OmegaConf.load, args.files)))
    settings = MainSettings.model_validate(config)
    with settings.job as job:
        job.run()
    return 0
