"""Using a trained model from Python: any size, tiles that match the whole image, the inputs
users have (EXIF-rotated, RGBA, 16-bit), the exemplar's style and α, DCGAN's noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from style_gan import Stylizer
from style_gan.data.images import open_image
from style_gan.errors import ConfigError, DataError, UnreadableImageError
from style_gan.inference.images import embedded_metadata, find_images, save_image
from style_gan.inference.tiling import pad_to_multiple, run_padded, run_tiled
from style_gan.nets.generators import ResnetGenerator
from style_gan.precision import cpu_has_native_bf16
from tests.conftest import write_image

IMAGE_METHODS = ["cyclegan", "cut", "fastcut", "pix2pix"]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse)) if mse else float("inf")


def smooth_photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """Random pixels blurred to photo-like structure (large areas, soft edges)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)


@pytest.mark.parametrize("model", IMAGE_METHODS)
@pytest.mark.parametrize("size", [(37, 53), (1000, 7)])
def test_output_has_the_inputs_size_and_aspect(model, size, one_batch_checkpoint) -> None:
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint(model), device="cpu")
    result = stylizer(smooth_photo(*size))
    assert result.size == size and result.mode == "RGB"


def test_inputs_as_path_array_and_list(one_batch_checkpoint, tmp_path: Path) -> None:
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint("cyclegan"), device="cpu")
    path = write_image(tmp_path / "photo.png", (30, 20))
    array = np.asarray(Image.open(path))
    from_path, from_array = stylizer([path, array])
    assert np.array_equal(np.asarray(from_path), np.asarray(from_array))
    assert stylizer(str(path)).size == (30, 20)


def test_a_batch_gives_what_one_image_at_a_time_gives(one_batch_checkpoint) -> None:
    path = one_batch_checkpoint("cyclegan")
    images = [smooth_photo(40, 24, seed=1), smooth_photo(40, 24, seed=2), smooth_photo(24, 40)]
    one_by_one = Stylizer.from_checkpoint(path, device="cpu")(images)
    batched = Stylizer.from_checkpoint(path, device="cpu", batch_size=2)(images)
    assert [image.size for image in batched] == [(40, 24), (40, 24), (24, 40)]
    for a, b in zip(one_by_one, batched, strict=True):
        assert np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int)).max() <= 1


def test_exif_rotation_alpha_and_16_bit_inputs(one_batch_checkpoint, tmp_path: Path) -> None:
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint("cyclegan"), device="cpu")
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned 90°, so the picture is 24 wide
    smooth_photo(40, 24).save(rotated, exif=exif)
    assert stylizer(rotated).size == (24, 40)

    rgba = smooth_photo(20, 16).convert("RGBA")
    alpha = Image.fromarray(np.tile(np.arange(20, dtype=np.uint8) * 12, (16, 1)), "L")
    rgba.putalpha(alpha)
    result = stylizer(rgba)
    assert result.mode == "RGBA" and np.array_equal(np.asarray(result)[..., 3], np.asarray(alpha))

    cmyk = tmp_path / "print.jpg"
    Image.new("CMYK", (18, 14), (0, 255, 255, 0)).save(cmyk)  # pure red in ink
    red = np.asarray(open_image(cmyk).rgb)[7, 9]
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert stylizer(cmyk).size == (18, 14)

    sixteen = tmp_path / "gray16.png"
    Image.fromarray(np.full((12, 10), 30000, dtype=np.uint16)).save(sixteen)
    gray = np.asarray(open_image(sixteen).rgb)
    assert gray.shape == (12, 10, 3) and abs(int(gray[0, 0, 0]) - round(30000 / 65535 * 255)) <= 1


def test_tiled_output_equals_the_whole_image_output(one_batch_checkpoint) -> None:
    photo = smooth_photo(160, 96)
    path = one_batch_checkpoint("cyclegan")
    whole = Stylizer.from_checkpoint(path, device="cpu", tile_size=1024)(photo)
    tiled = Stylizer.from_checkpoint(path, device="cpu", tile_size=64, tile_overlap=32)(photo)
    # Measured: 29.99 dB with the default bilinear upsampling, 30.29 with transpose, 29.08
    # with nearest (the bar was 30 dB when transpose was the default).
    assert psnr(np.asarray(whole), np.asarray(tiled)) > 29.5


def test_tiles_use_the_whole_images_instance_norm_statistics() -> None:
    """Per-tile statistics shift each tile's colours; the thumbnail's do not."""
    torch.manual_seed(0)
    generator = ResnetGenerator(base_channels=8, n_blocks=2).eval()
    image = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 96, 160) * 2 - 1, 9, 1, 4)
    image[..., :48] += 0.5  # halves that differ, so per-tile statistics differ too
    with torch.no_grad():
        whole = run_padded(generator, image, 4)
        with_thumbnail = run_tiled(generator, image, generator, 4, 64, 32, thumbnail_side=160)
        per_tile = run_tiled(generator, image, torch.nn.Identity(), 4, 64, 32, thumbnail_side=160)
    error_thumbnail = (with_thumbnail - whole).abs().mean()
    assert error_thumbnail < 0.1 * (per_tile - whole).abs().mean()
    assert error_thumbnail < 0.02


def test_padding_reflects_and_keeps_sizes_that_fit() -> None:
    image = torch.arange(12.0).reshape(1, 1, 3, 4)
    assert pad_to_multiple(image, 4).shape[-2:] == (4, 4)
    assert torch.equal(pad_to_multiple(image, 4)[..., 3, :], image[..., 1, :])  # reflected
    assert pad_to_multiple(image, 1) is image
    # Too short to reflect 5 rows: the edge is replicated, up to the smallest side asked for.
    padded = pad_to_multiple(image, 4, min_side=8)
    assert padded.shape[-2:] == (8, 8) and torch.equal(padded[..., 7, :4], image[..., 2, :])


@pytest.mark.parametrize("model", [*IMAGE_METHODS, "exemplar"])
def test_tiny_and_thin_images_keep_their_size(model, one_batch_checkpoint) -> None:
    """Smaller than the generator's reflection pads take: padded, then cropped back, whole or
    (tile_size=16: any image over 256 pixels) in tiles."""
    stylizer = Stylizer.from_checkpoint(
        one_batch_checkpoint(model), device="cpu", tile_size=16, tile_overlap=4
    )
    style = smooth_photo(2, 3) if model == "exemplar" else None
    for size in [(1, 1), (3, 3), (4, 4), (1, 100), (300, 2), (2, 300)]:
        result = stylizer(smooth_photo(*size), style=style, alpha=0.5 if style else 1.0)
        assert result.size == size


def test_exemplar_takes_a_style_and_alpha(one_batch_checkpoint, tmp_path: Path) -> None:
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint("exemplar"), device="cpu")
    content = smooth_photo(45, 30)
    style = write_image(tmp_path / "style.png", (50, 70), seed=3)
    full, none = stylizer(content, style=style, alpha=1.0), stylizer(content, style=style, alpha=0)
    assert full.size == none.size == (45, 30)
    assert not np.array_equal(np.asarray(full), np.asarray(none))
    with pytest.raises(ConfigError, match="needs a style image"):
        stylizer(content)


def test_dcgan_generates_from_seeded_noise(one_batch_checkpoint) -> None:
    stylizer = Stylizer.from_checkpoint(one_batch_checkpoint("dcgan"), device="cpu")
    first, again = stylizer.generate(3, seed=7), stylizer.generate(3, seed=7)
    assert len(first) == 3
    assert all(
        np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, again, strict=True)
    )
    with pytest.raises(ConfigError, match="generates from noise"):
        stylizer(smooth_photo(8, 8))


def test_bf16_on_the_cpu_is_close_to_fp32_or_refused_where_it_would_crawl(
    one_batch_checkpoint,
) -> None:
    path = one_batch_checkpoint("cyclegan")
    if not cpu_has_native_bf16():
        with pytest.raises(ConfigError, match="no native bf16 convolutions"):
            Stylizer.from_checkpoint(path, device="cpu", precision="bf16-mixed")
        return
    photo = smooth_photo(48, 40)
    fp32 = Stylizer.from_checkpoint(path, device="cpu")(photo)
    bf16 = Stylizer.from_checkpoint(path, device="cpu", precision="bf16-mixed")(photo)
    assert psnr(np.asarray(fp32), np.asarray(bf16)) > 25


def test_bad_inputs_are_one_line_errors(one_batch_checkpoint, tmp_path: Path) -> None:
    path = one_batch_checkpoint("cyclegan")
    stylizer = Stylizer.from_checkpoint(path, device="cpu", max_pixels=100)
    big = write_image(tmp_path / "big.png", (20, 20))
    with pytest.raises(UnreadableImageError, match=r"big.png has 20×20.*max_pixels=100"):
        stylizer(big)
    with pytest.raises(ConfigError, match="takes no style"):
        stylizer(smooth_photo(8, 8), style=big)
    with pytest.raises(DataError, match="HWC uint8"):
        stylizer(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(ConfigError, match="16-mixed needs a CUDA device"):
        Stylizer.from_checkpoint(path, device="cpu", precision="16-mixed")


def test_find_images_in_a_file_folder_glob_and_subfolders(tmp_path: Path) -> None:
    top = write_image(tmp_path / "a.png")
    deep = write_image(tmp_path / "sub" / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    assert find_images(top) == [top]
    assert find_images(tmp_path) == [top]
    assert find_images(tmp_path, recursive=True) == [top, deep]
    assert find_images(str(tmp_path / "**" / "*.jpg"), recursive=True) == [deep]
    with pytest.raises(DataError, match="does not exist"):
        find_images(tmp_path / "missing")
    write_image(tmp_path / "nested" / "inner" / "c.png")
    with pytest.raises(DataError, match="recursive=true looks in subfolders"):
        find_images(tmp_path / "nested")


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_saved_images_carry_their_metadata_and_leave_no_temporary_file(
    suffix: str, tmp_path: Path
) -> None:
    target = tmp_path / "out" / f"result{suffix}"
    save_image(smooth_photo(16, 12), target, {"method": "CycleGAN", "note": "<&>"})
    assert embedded_metadata(target) == {"method": "CycleGAN", "note": "<&>"}
    assert [p.name for p in target.parent.iterdir()] == [target.name]
