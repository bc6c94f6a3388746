"""PolyCL: contrastive pre-training with slice-relation positives/negatives, U-Net fine-tuning,
3D evaluation and ONNX export for the polyseg app."""
