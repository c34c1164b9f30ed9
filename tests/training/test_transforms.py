"""Augmentation primitives: shapes, value ranges, identities, label preservation."""

from __future__ import annotations

import numpy as np

from training.data import transforms as tf
from training.data.tps import sample_tps, tps_maps, tps_warp


def _img(h: int = 40, w: int = 56) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.random((h, w, 3), dtype=np.float32)


def _labels(h: int = 40, w: int = 56) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[5:20, 5:25], m[22:35, 30:50] = 3, 7
    return m


def test_affine_identity_and_shapes() -> None:
    img, m = _img(), _labels()
    assert tf.warp_affine(img, tf.AffineParams(), "bilinear") is img
    rng = np.random.default_rng(0)
    for _ in range(5):
        p = tf.sample_affine(rng, 20, 0.1, (0.8, 1.5), 10)
        out = tf.warp_affine(img, p, "bicubic", tf.MEAN_FILL)
        mo = tf.warp_affine(m, p, "nearest", 0)
        assert out.shape == img.shape and out.dtype == np.float32
        assert mo.shape == m.shape and set(np.unique(mo)) <= {0, 3, 7}


def test_affine_matrix_centre_and_fill() -> None:
    p = tf.AffineParams(angle=33.0, scale=1.3, shear=(7.0, 0.0))
    mat = tf.affine_matrix(p, 41, 61)
    np.testing.assert_allclose(mat @ np.array([30.0, 20.0, 1.0]), [30.0, 20.0], atol=1e-9)  # centre fixed
    small = tf.warp_affine(np.ones((20, 20, 3), np.float32), tf.AffineParams(scale=0.5), "bilinear", tf.MEAN_FILL)
    np.testing.assert_allclose(small[0, 0], tf.MEAN_FILL, atol=1e-6)


def test_flip_resize_crop() -> None:
    img, m = _img(), _labels()
    np.testing.assert_array_equal(tf.hflip(tf.hflip(m)), m)
    assert tf.resize_short(img, 20, "bilinear").shape == (20, 28, 3)
    rng = np.random.default_rng(0)
    for _ in range(50):
        t, left, ch, cw = tf.sample_resized_crop(rng, 40, 56, (0.36, 1.0))
        assert t >= 0 and t + ch <= 40 and left >= 0 and left + cw <= 56
    out = tf.resized_crop(m, (0, 0, 40, 40), 24, "nearest")
    assert out.shape == (24, 24) and set(np.unique(out)) <= {0, 3, 7}
    padded = tf.pad_crop(np.zeros((10, 12, 3), np.float32), 0, 0, 16, tf.MEAN_FILL)
    assert padded.shape == (16, 16, 3)
    np.testing.assert_allclose(padded[15, 15], tf.MEAN_FILL)
    np.testing.assert_allclose(padded[0, 0], 0)


def test_colour_ops() -> None:
    img = _img()
    np.testing.assert_array_equal(tf.color_jitter(img, tf.JitterParams()), img)
    rng = np.random.default_rng(0)
    for _ in range(5):
        out = tf.color_jitter(img, tf.sample_jitter(rng, 0.4, 0.4, 0.4, 0.1))
        assert out.shape == img.shape and out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    g = tf.grayscale(img)
    np.testing.assert_allclose(g[..., 0], g[..., 2])
    red = np.zeros((4, 4, 3), np.float32)
    red[..., 0] = 1
    green = tf.adjust_hue(red, 1 / 3)
    assert green[0, 0, 1] > 0.9 and green[0, 0, 0] < 0.1
    u8 = tf.to_uint8_chw(img)
    assert u8.shape == (3, 40, 56) and u8.dtype == np.uint8


def test_tps_identity_and_labels() -> None:
    rng = np.random.default_rng(0)
    pts = sample_tps(rng, 30, 40, 12, 0.0)
    mx, my = tps_maps(pts, 30, 40)
    gy, gx = np.mgrid[0:30, 0:40]
    np.testing.assert_allclose(mx, gx, atol=1e-3)
    np.testing.assert_allclose(my, gy, atol=1e-3)
    img, m = _img(30, 40), _labels(30, 40)
    wi, wm = tps_warp(img, m, sample_tps(rng, 30, 40, 12, 0.05))
    assert wi.shape == img.shape and wm.shape == m.shape and set(np.unique(wm)) <= {0, 3, 7}
    shifted = np.stack([pts[0], pts[0] + 0.03])  # a uniform shift is a pure translation: content moves +0.03
    mx, my = tps_maps(shifted, 30, 40)
    np.testing.assert_allclose(mx, gx - 0.03 * 39, atol=1e-3)
    np.testing.assert_allclose(my, gy - 0.03 * 29, atol=1e-3)
