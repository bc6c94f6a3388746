from __future__ import annotations

import torch

from polycl.augment import AugmentConfig, random_view


def test_views_stay_in_the_anchor_normalisation() -> None:
    x = torch.rand(4, 1, 32, 32)
    v1 = random_view(x, AugmentConfig(), torch.Generator().manual_seed(0))
    v2 = random_view(x, AugmentConfig(), torch.Generator().manual_seed(0))
    assert v1.shape == x.shape and 0 <= v1.min() and v1.max() <= 1
    torch.testing.assert_close(v1, v2)  # reproducible from the generator
    assert (v1 - x).abs().mean() > 0.01  # and actually different from the input


def test_identity_config_is_identity() -> None:
    x = torch.rand(2, 1, 16, 16)
    cfg = AugmentConfig(min_scale=1.0, flip=0.0, brightness=0.0, contrast=0.0, noise=0.0)
    torch.testing.assert_close(random_view(x, cfg, torch.Generator().manual_seed(1)), x, atol=1e-5, rtol=0)


from polycl.augment import SegAugmentConfig, augment_segmentation  # noqa: E402


def _blocks(b: int = 3, size: int = 48) -> torch.Tensor:
    """Label maps of rectangles: label 1 on the image's left half (the patient's right), 2 in
    a box on the right."""
    lab = torch.zeros(b, size, size, dtype=torch.long)
    lab[:, 10:38, 4:20] = 1
    lab[:, 14:30, 28:44] = 2
    return lab


def test_spatial_warp_moves_image_and_labels_together() -> None:
    lab = _blocks()
    x = (lab.float() * 0.3)[:, None]  # the image encodes its labels (background 0, as the padding)
    cfg = SegAugmentConfig.named("spatial")
    cfg.p_spatial = 1.0
    y, m = augment_segmentation(x, lab, 2, cfg, torch.Generator().manual_seed(0))
    assert not torch.equal(m, lab)  # something moved
    # away from label edges (bilinear image vs nearest labels) the image still encodes the label
    edge = (m != torch.roll(m, 1, 1)) | (m != torch.roll(m, 1, 2))
    inner = torch.nn.functional.max_pool2d(edge[:, None].float(), 5, 1, 2)[:, 0] == 0
    inner[:, :2], inner[:, -2:], inner[:, :, :2], inner[:, :, -2:] = False, False, False, False  # the zero padding's edge
    assert inner.float().mean() > 0.5
    assert ((y[:, 0] - m.float() * 0.3).abs()[inner] < 1e-4).all()
    # no left-right flip: label 1 stays on the image's left (the patient's right)
    cols = torch.arange(48).float()
    for i in range(3):
        c1 = cols[(m[i] == 1).any(0)].mean()
        c2 = cols[(m[i] == 2).any(0)].mean()
        assert c1 < c2


def test_organ_contrast_changes_only_labelled_regions() -> None:
    lab = _blocks(b=8)
    x = torch.full((8, 1, 48, 48), 0.4)
    cfg = SegAugmentConfig.named("organ")
    cfg.p_organ_contrast = 1.0
    y, m = augment_segmentation(x, lab, 2, cfg, torch.Generator().manual_seed(1))
    torch.testing.assert_close(m, lab)
    far = torch.nn.functional.max_pool2d((lab > 0).float()[:, None], 3, 1, 1)[:, 0] == 0  # beyond the softened edge
    assert (y[:, 0][far] == 0.4).all()
    shifts = torch.stack([(y[i, 0][lab[i] == 1] - 0.4).median() for i in range(8)])
    assert shifts.abs().max() > 0.02 and (shifts >= -0.05 - 1e-6).all() and (shifts <= 0.3 + 1e-6).all()


def test_seg_augment_reproducible_and_in_range() -> None:
    lab = _blocks()
    x = torch.rand(3, 1, 48, 48)
    a = augment_segmentation(x, lab, 2, SegAugmentConfig(), torch.Generator().manual_seed(7))
    b = augment_segmentation(x, lab, 2, SegAugmentConfig(), torch.Generator().manual_seed(7))
    torch.testing.assert_close(a[0], b[0])
    assert torch.equal(a[1], b[1])
    assert 0 <= a[0].min() and a[0].max() <= 1 and set(a[1].unique().tolist()) <= {0, 1, 2}


def test_named_configs() -> None:
    assert SegAugmentConfig.named("none") is None
    c = SegAugmentConfig.named("spatial+noise")
    assert c.p_spatial > 0 and c.p_noise > 0 and c.p_organ_contrast == c.p_intensity == c.p_resolution == 0
    import pytest

    with pytest.raises(ValueError, match="flip"):
        SegAugmentConfig.named("spatial+flip")
