"""The accelerate configs the multi-device chapter shows (snippets/multi-device/index/*.yaml),
read by accelerate's own code: ``ClusterConfig`` (which rejects an unknown top-level key),
``accelerate launch``'s parser and validation (every ``fsdp_config`` / ``deepspeed_config`` key
must be one of its options, or the launch would drop it), and the FSDP and DeepSpeed plugins
built from the environment the launcher would set (deepspeed itself need not be installed)."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from accelerate.commands.config.config_args import ClusterConfig
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DeepSpeedPlugin, DistributedType, FullyShardedDataParallelPlugin
from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

CONFIGS = Path(__file__).resolve().parents[1] / "snippets" / "multi-device" / "index"
EXPECTED = {  # file: (distributed type, what the launch validation turns on)
    "ddp.yaml": (DistributedType.MULTI_GPU, {"multi_gpu": True}),
    "fsdp.yaml": (DistributedType.FSDP, {"use_fsdp": True, "fsdp_version": 2}),
    "zero1.yaml": (DistributedType.DEEPSPEED, {"use_deepspeed": True, "zero_stage": 1}),
    "zero2.yaml": (DistributedType.DEEPSPEED, {"use_deepspeed": True, "zero_stage": 2}),
    "zero3.yaml": (DistributedType.DEEPSPEED, {"use_deepspeed": True, "zero_stage": 3}),
}


def launch_args(path: Path):
    """The arguments ``accelerate launch --config_file path train.py`` runs with."""
    args = launch_command_parser().parse_args(["--config_file", str(path), "train.py"])
    return _validate_launch_command(args)[0]


def deepspeed_config(path: Path) -> dict:
    """The DeepSpeed config a script launched with ``path`` would get: the launch environment
    (as ``accelerate launch`` builds it, accelerate/commands/launch.py ``launch_command``) read
    by ``DeepSpeedPlugin``."""
    args = launch_command_parser().parse_args(["--config_file", str(path), "train.py"])
    args, defaults, mixed_precision_from_config = _validate_launch_command(args)
    fields = [*defaults.deepspeed_config] + ["mixed_precision"] * mixed_precision_from_config
    args.deepspeed_fields_from_accelerate_config = ",".join(fields)
    env = prepare_deepspeed_cmd_env(args)[1]
    with mock.patch.dict("os.environ", env):
        return DeepSpeedPlugin().deepspeed_config


def test_every_config_is_checked():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_loads_and_launches_as_intended(name):
    config = ClusterConfig.from_yaml_file(CONFIGS / name)
    kind, flags = EXPECTED[name]
    assert config.distributed_type == kind
    options = {a.dest for a in launch_command_parser()._actions}
    for key in [*config.fsdp_config, *config.deepspeed_config]:
        assert key in options, f"{name}: {key} is not an option of accelerate launch"
    args = launch_args(CONFIGS / name)
    assert {flag: getattr(args, flag) for flag in flags} == flags


def test_fsdp_config_builds_the_plugin():
    env = prepare_multi_gpu_env(launch_args(CONFIGS / "fsdp.yaml"))
    with mock.patch.dict("os.environ", {**env, "ACCELERATE_USE_FSDP": "true"}):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2
    assert plugin.reshard_after_forward is True  # full shard: ZeRO-3's split
    assert plugin.state_dict_type.name == "SHARDED_STATE_DICT"
    assert plugin.transformer_cls_names_to_wrap == ["LlamaDecoderLayer"]


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_zero_configs_leave_accumulation_and_clipping_to_the_script(stage):
    """A number here would be checked against TrainingArguments, and a mismatch stops the Trainer
    (transformers/integrations/deepspeed.py); "auto" takes the Trainer's values."""
    config = deepspeed_config(CONFIGS / f"zero{stage}.yaml")
    assert config["gradient_accumulation_steps"] == "auto"
    assert config["gradient_clipping"] == "auto"
    zero = config["zero_optimization"]
    assert zero["stage"] == stage
    assert zero["offload_optimizer"]["device"] == "none"
    assert zero["offload_param"]["device"] == "none"
    assert zero["stage3_gather_16bit_weights_on_model_save"] is (stage == 3)
