"""`image=diffusers:DIR` on a real, tiny Stable Diffusion pipeline.

The pipeline is built here from configs (a UNet of 8 and 16 channels, a two-level VAE, a
two-layer CLIP text encoder, a CLIP BPE tokenizer over a letter vocabulary written here, a DDIM
scheduler), randomly initialised, saved with `save_pretrained` and loaded back through the
backend from the folder alone (`local_files_only`): the same code path as a real model folder,
without downloading one. Its pictures are noise; what is checked is what the backend does with
them: the PNG and its size, the seed, the mode each reference selects (image to image,
ControlNet canny, LoRA, IP-Adapter) and the errors for folders that are not pipelines.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from assetloom.create.errors import GenerationError
from assetloom.create.generators import ImageGenerator, get_generator
from assetloom.create.generators.image_diffusers import canny
from assetloom.create.plan import NEGATIVE
from assetloom.models.pool import ModelPool
from assetloom.models.registry import IMAGE_GEN, MODELS

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("peft")

PNG = b"\x89PNG\r\n\x1a\n"
CROSS = 16


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny tensors on two shared cores: one torch thread is faster than a fight for them."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """A CLIP BPE vocabulary of the letters (word-final ones too) and no merges."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "!": 1, "<|endoftext|>": 2}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        vocab[letter] = len(vocab)
        vocab[f"{letter}</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return folder / "vocab.json", folder / "merges.txt"


def _unet(seed: int = 0) -> object:
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    return UNet2DConditionModel(
        sample_size=32,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=CROSS,
        attention_head_dim=2,
        norm_num_groups=4,
    )


def build_tiny_pipeline(folder: Path) -> Path:
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    unet = _unet()
    vae = AutoencoderKL(
        block_out_channels=(4, 8),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        norm_num_groups=2,
        sample_size=64,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
            hidden_size=CROSS,
            intermediate_size=32,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=60,
            max_position_embeddings=77,
            projection_dim=CROSS,
        )
    )
    vocab, merges = _tokenizer_files(folder.parent / f"{folder.name}-bpe")
    tokenizer = CLIPTokenizer(str(vocab), str(merges), pad_token="!", model_max_length=77)
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    ).save_pretrained(folder)
    return folder


def add_controlnet(folder: Path) -> None:
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(folder / "unet")
    torch.manual_seed(1)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(4, 8))
    with torch.no_grad():  # from_unet zeroes its outputs: give them weight, so edges count
        for p in controlnet.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    controlnet.save_pretrained(folder / "controlnet")


def add_lora(folder: Path) -> None:
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = UNet2DConditionModel.from_pretrained(folder / "unet")
    torch.manual_seed(2)
    unet.add_adapter(
        LoraConfig(
            r=2,
            lora_alpha=2,
            target_modules=["to_q", "to_k", "to_v", "to_out.0"],
            init_lora_weights=False,  # random on both sides: the LoRA changes the picture
        )
    )
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionPipeline.save_lora_weights(
        folder / "lora", unet_lora_layers=layers, weight_name="tiny_style.safetensors"
    )


def add_ip_adapter(folder: Path) -> None:
    """IP-Adapter weights in the layout of the original release (image_proj.*, ip_adapter.N.*
    for the Nth attention processor, cross-attention ones odd) and a tiny CLIP image encoder."""
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    ip = folder / "ip_adapter"
    torch.manual_seed(3)
    embed = 16
    CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            projection_dim=embed,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            patch_size=4,
        )
    ).save_pretrained(ip / "image_encoder")
    config = UNet2DConditionModel.load_config(folder / "unet")
    channels = list(config["block_out_channels"])
    weights = {
        "image_proj.proj.weight": torch.randn(CROSS * 4, embed) * 0.1,
        "image_proj.proj.bias": torch.zeros(CROSS * 4),
        "image_proj.norm.weight": torch.ones(CROSS),
        "image_proj.norm.bias": torch.zeros(CROSS),
    }
    key = 1
    for name in UNet2DConditionModel.from_config(config).attn_processors:
        if name.endswith("attn1.processor"):
            continue
        block = int(name.split(".")[1]) if not name.startswith("mid_block") else -1
        hidden = (
            channels[-1]
            if block < 0
            else list(reversed(channels))[block]
            if name.startswith("up_blocks")
            else channels[block]
        )
        weights[f"ip_adapter.{key}.to_k_ip.weight"] = torch.randn(hidden, CROSS) * 0.3
        weights[f"ip_adapter.{key}.to_v_ip.weight"] = torch.randn(hidden, CROSS) * 0.3
        key += 2
    save_file(weights, str(ip / "ip-adapter_tiny.safetensors"))


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sd")
    plain = build_tiny_pipeline(root / "plain")
    made = {"plain": plain}
    for name, add in (("controlnet", add_controlnet), ("lora", add_lora), ("ip", add_ip_adapter)):
        made[name] = root / name
        shutil.copytree(plain, made[name])
        add(made[name])
    return made


@pytest.fixture(scope="module")
def plain(folders: dict[str, Path]) -> ImageGenerator:
    return get_generator(f"image=diffusers:{folders['plain']}?steps=2", "image")


def _png(width: int, height: int, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    im = Image.new("RGB", (width, height), (240, 240, 240))
    ImageDraw.Draw(im).rectangle((width // 4, height // 4, width * 3 // 4, height * 3 // 4), colour)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _ellipse() -> bytes:
    im = Image.new("RGB", (64, 64), (240, 240, 240))
    ImageDraw.Draw(im).ellipse((4, 30, 30, 60), (20, 20, 20))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    assert data.startswith(PNG)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_a_tiny_pipeline_reloads_offline_and_draws_a_png(
    plain: ImageGenerator, folders: dict[str, Path]
) -> None:
    start = time.perf_counter()
    out = plain.generate("a red shoe", width=64, height=64, seed=7)
    first = time.perf_counter() - start
    assert _pixels(out.data).shape == (64, 64, 3) and out.media_type == "image/png"
    recipe = out.recipe
    assert (recipe.backend, recipe.model) == ("diffusers", str(folders["plain"].resolve()))
    params = recipe.parameters
    assert params["mode"] == "txt2img" and params["steps"] == 2 and params["generated"] == [64, 64]
    assert params["negative"] == NEGATIVE and params["device"] in ("cpu", "cuda")
    assert recipe.seed == 7 and params["roles"] == []
    # The pool holds it now, under the folder: a second call reuses it.
    assert (IMAGE_GEN, "diffusers", str(folders["plain"].resolve()), "") in [
        (m.task, m.backend, m.spec, m.cache) for m in MODELS.stats()
    ]
    start = time.perf_counter()
    again = plain.generate("a red shoe", width=64, height=64, seed=7, negative="")
    print(
        f"tiny SD: first call {first:.2f} s (load + draw), then {time.perf_counter() - start:.3f} s"
    )
    assert again.recipe.parameters["negative"] == ""


def test_the_seed_reproduces_the_picture_and_another_changes_it(plain: ImageGenerator) -> None:
    a = plain.generate("a red shoe", width=64, height=64, seed=11)
    b = plain.generate("a red shoe", width=64, height=64, seed=11)
    c = plain.generate("a red shoe", width=64, height=64, seed=12)
    assert a.data == b.data and a.recipe == b.recipe
    assert not np.array_equal(_pixels(a.data), _pixels(c.data))


def test_formats_are_drawn_near_the_native_size_then_fitted(plain: ImageGenerator) -> None:
    out = plain.generate("a red shoe", width=160, height=90, seed=3, overlay="Go green")
    assert _pixels(out.data).shape == (90, 160, 3)
    params = out.recipe.parameters
    assert params["generated"] == [64, 64]  # ~64x64 pixels, in multiples of 64
    assert params["overlay"] == "Go green" and params["text_contrast"] >= 4.5


def test_a_source_reference_takes_the_image_to_image_path(plain: ImageGenerator) -> None:
    text_only = plain.generate("a red shoe", width=64, height=64, seed=5)
    out = plain.generate(
        "a red shoe in a rainforest",
        width=64,
        height=64,
        seed=5,
        references={"source": _png(96, 96), "subject": _png(40, 40)},
    )
    params = out.recipe.parameters
    assert params["mode"] == "img2img" and params["strength"] == 0.6
    assert params["roles"] == ["source"]
    assert "image=compose" in params["unused_roles"]["subject"]
    assert not np.array_equal(_pixels(out.data), _pixels(text_only.data))


def test_a_controlnet_folder_follows_the_sources_edges(folders: dict[str, Path]) -> None:
    edges = np.asarray(canny(Image.open(io.BytesIO(_png(64, 64))), (64, 64)))
    assert edges.shape == (64, 64, 3) and set(np.unique(edges)) == {0, 255}
    rows, cols = np.nonzero(edges[..., 0])
    assert set(rows) <= {*range(15, 50)} and set(cols) <= {*range(15, 50)}
    assert not edges[20:44, 20:44].any()  # the square's outline only, nothing inside it
    generator = get_generator(f"image=diffusers:{folders['controlnet']}?steps=2&control=0.8")
    one = generator.generate(
        "a shoe", width=64, height=64, seed=4, references={"source": _png(64, 64)}
    )
    other = generator.generate(
        "a shoe", width=64, height=64, seed=4, references={"source": _ellipse()}
    )
    params = one.recipe.parameters
    assert params["mode"] == "controlnet-canny" and params["control"] == 0.8
    assert params["canny"] == [100, 200] and params["roles"] == ["source"]
    assert not np.array_equal(_pixels(one.data), _pixels(other.data))  # other edges, other picture


def test_lora_weights_in_the_folder_are_applied(
    plain: ImageGenerator, folders: dict[str, Path]
) -> None:
    generator = get_generator(f"image=diffusers:{folders['lora']}?steps=2")
    styled = generator.generate("a red shoe", width=64, height=64, seed=9)
    base = plain.generate("a red shoe", width=64, height=64, seed=9)
    assert styled.recipe.parameters["loras"] == ["tiny_style.safetensors"]
    assert not np.array_equal(_pixels(styled.data), _pixels(base.data))


def test_a_style_reference_goes_to_the_ip_adapter_when_there_is_one(
    plain: ImageGenerator, folders: dict[str, Path]
) -> None:
    generator = get_generator(f"image=diffusers:{folders['ip']}?steps=2&style=1")
    style = {"style": _png(64, 64, (20, 60, 220))}
    with_style = generator.generate("a red shoe", width=64, height=64, seed=2, references=style)
    without = generator.generate("a red shoe", width=64, height=64, seed=2)
    assert with_style.recipe.parameters["roles"] == ["style"]
    assert with_style.recipe.parameters["style_scale"] == 1.0
    assert not np.array_equal(_pixels(with_style.data), _pixels(without.data))
    # At scale 0 the adapter's grey stand-in leaves the plain pipeline's picture.
    assert np.array_equal(
        _pixels(without.data),
        _pixels(plain.generate("a red shoe", width=64, height=64, seed=2).data),
    )
    # A folder without one says why the style was not used.
    out = plain.generate("a red shoe", width=64, height=64, seed=2, references=style)
    assert out.recipe.parameters["roles"] == []
    assert "no IP-Adapter" in out.recipe.parameters["unused_roles"]["style"]


def test_folders_that_are_not_pipelines_are_clear_errors(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(GenerationError, match="no folder"):
        get_generator(f"image=diffusers:{tmp_path / 'nowhere'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenerationError, match=r"no model_index\.json") as err:
        get_generator(f"image=diffusers:{tmp_path / 'empty'}")
    assert err.value.hint and "from_single_file" in err.value.hint
    broken = shutil.copytree(folders["plain"], tmp_path / "no-weights")
    (broken / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(GenerationError, match=r"unet has a config\.json but no weights"):
        get_generator(f"image=diffusers:{broken}")
    shutil.rmtree(broken / "unet")
    with pytest.raises(GenerationError, match="lacks its unet folder"):
        get_generator(f"image=diffusers:{broken}")
    # Weights that are there but cut short fail at load, as a GenerationError too.
    cut = shutil.copytree(folders["plain"], tmp_path / "cut")
    weights = cut / "text_encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(GenerationError, match="cannot load the pipeline"):
        get_generator(f"image=diffusers:{cut}?steps=1").generate("x", width=64, height=64)
    with pytest.raises(GenerationError, match="unknown options sampler"):
        get_generator(f"image=diffusers:{folders['plain']}?sampler=euler")
    with pytest.raises(GenerationError, match="steps='many'"):
        get_generator(f"image=diffusers:{folders['plain']}?steps=many")
    with pytest.raises(GenerationError, match="64 to 4096"):
        get_generator(f"image=diffusers:{folders['plain']}").generate("x", width=32, height=64)


def test_the_pipeline_is_unloaded_when_idle(folders: dict[str, Path]) -> None:
    from assetloom.models.diffusion import DiffusionModel

    now = [0.0]
    pool = ModelPool(idle_s=60, clock=lambda: now[0])
    pool.register(IMAGE_GEN, "diffusers", lambda build: DiffusionModel(Path(build.spec)))
    with pool.lease(IMAGE_GEN, "diffusers", str(folders["plain"])) as model:
        image, blanked = model.generate(
            mode="txt2img", prompt="a shoe", negative="", size=(64, 64), seed=1, steps=1, guidance=1
        )
        assert image.size == (64, 64) and not blanked
    now[0] = 61
    assert pool.sweep() == [(IMAGE_GEN, "diffusers", str(folders["plain"]), "")]
    assert model._pipes == {}  # closed: its pipelines (and GPU memory) given back


def test_choosing_the_backend_loads_nothing(folders: dict[str, Path]) -> None:
    probe = (
        "import sys\n"
        "from assetloom.create.generators import get_generator\n"
        f"get_generator('image=diffusers:{folders['plain']}')\n"
        "get_generator('image=comfyui:http://127.0.0.1:9')\n"
        "get_generator('image=openai:http://127.0.0.1:9/v1')\n"
        "from assetloom.models.registry import MODELS\n"
        "heavy = {'torch', 'diffusers', 'transformers', 'peft', 'httpx', 'cv2'}\n"
        "print(sorted(heavy & set(sys.modules)), MODELS.stats())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[] []"


def test_the_studio_makes_and_registers_a_picture_through_it(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    from assetloom.app.library import Library
    from assetloom.app.studio import Request, Studio

    with Library.create(tmp_path / "lib") as lib:
        doc = Studio(lib).create(
            Request(
                "A reusable trail bottle for hikers",
                outputs=["image"],
                formats=["1:1"],
                backends=[f"image=diffusers:{folders['plain']}?steps=2"],
                seed=3,
            )
        )
        assert doc["state"] == "done", doc["report"]
        (image,) = doc["outputs"]
        assert image["backend"] == "image=diffusers"
        assert image["recipe"]["parameters"]["mode"] == "txt2img"
        asset = lib.get(image["asset_id"])
        assert (asset.width, asset.height) == (1080, 1080) and asset.mime == "image/png"
        # Re-purposing starts from the asset's own pixels (img2img), without the usual
        # artefacts (the plan's negative prompt).
        redo = Studio(lib).repurpose(
            asset.asset_id,
            "put it in a rainforest",
            Request(
                "",
                outputs=["image"],
                formats=["1:1"],
                backends=[f"image=diffusers:{folders['plain']}?steps=2"],
                seed=3,
            ),
        )
        (again,) = redo["outputs"]
        assert again["recipe"]["parameters"]["mode"] == "img2img", again
        assert "blurry" in again["recipe"]["parameters"]["negative"]
