"""The reference design's YAML example, verbatim."""

REFERENCE_YAML = """\
schema_version: "1.0"
checkpoint_path: "outputs/dbnet-resnet50/checkpoints/epoch=10.ckpt"
exp_name: "dbnet-resnet50-pan-20251018"
created_at: "2025-10-18T14:32:15"

training:
  epoch: 10
  global_step: 5420
  training_phase: "training"
  max_epochs: 50

model:
  architecture: "dbnet"
  encoder:
    model_name: "resnet50"
    pretrained: true
  decoder:
    name: "pan_decoder"
    in_channels: [256, 512, 1024, 2048]
    inner_channels: 256
    output_channels: 128
  head:
    name: "db_head"
    in_channels: 128
  loss:
    name: "db_loss"

metrics:
  precision: 0.8542
  recall: 0.8321
  hmean: 0.8430
  validation_loss: 0.0234

checkpointing:
  monitor: "val/hmean"
  mode: "max"
  save_top_k: 3
  save_last: true
"""
