"""Run the 2-D convolution kernels of ``kernels/conv2d.cu`` on an NVIDIA GPU through PyCUDA.

``out[i, j] = sum_k sum_l M[k, l] * in[i - r + k, j - r + l]``, zeros outside the image, float32
(what ``torch.nn.functional.conv2d(x, m, padding=r)`` computes). Every launch setting (block, grid,
shared bytes) and every compile-time size comes from :func:`engine.tiling.geometry`, so the kernels,
the CPU emulator and the visualizer cannot disagree.

PyCUDA is imported inside functions only, and no CUDA context exists until the first
:func:`run_cuda`. Each run pushes the device's retained *primary* context (the one PyTorch uses) and
pops it in ``finally``, so PyTorch and these kernels share one process and any worker thread.
Modules are compiled once per (strategy, mask size, tile, instrumentation) and kept for the process.

``tma`` reads and writes the image through tensor-map descriptors (``cuTensorMapEncodeTiled``, called
through ctypes from the driver library PyCUDA loaded); it needs compute capability 9.0 or newer. Its
rows must start 16 bytes apart, so an image whose width is not a multiple of 4 is copied into (and its
output read back from) buffers whose rows are padded to a multiple of 4 floats.

``tensorcore`` (compute capability 8.0 or newer) takes the mask from global memory, as ``naive`` does,
as the split band records of :func:`engine.conv_mma.band_records` (made here, on the host).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import statistics
import threading
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.conv_mma import band_records
from engine.tiling import (
    BULK_MIN_COMPUTE_CAPABILITY,
    BULK_STRATEGIES,
    REGISTER2D_COLS,
    REGISTER_ROWS,
    SHARED_STRATEGIES,
    TENSOR_MIN_COMPUTE_CAPABILITY,
    TENSOR_STRATEGIES,
    WIDE_STRATEGIES,
    TileGeometry,
    geometry,
    tensorcore_band_row,
    tensorcore_steps,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "RECORD_FIELDS",
    "CudaResult",
    "KernelError",
    "NoGPUError",
    "cuda_available",
    "describe_gpu",
    "kernel_options",
    "kernel_source",
    "precompile",
    "run_cuda",
    "run_cuda_geometry",
]

KERNEL_FILE = "conv2d.cu"
# One int32 per field and shared slot in instrumented runs; the first eight are LoadPlan's fields.
RECORD_FIELDS = ("thread_y", "thread_x", "phase", "smem_y", "smem_x", "in_y", "in_x", "ghost", "writes")
MAX_RECORD_BLOCKS = 64
_QUIET_NAN = 0x7FC00000  # float32 bit pattern: outputs start as NaN, so unwritten pixels show
_MAX_GRID_Y = 65535  # CUDA's limit on gridDim.y
_MAX_SIDE = 2**31 - 1  # height and width are passed as int
_HEADROOM_BYTES = 64 * 2**20  # left free for the module, the mask and the driver
_TMAP_BYTES = 128  # sizeof(CUtensorMap); 64-byte alignment needed, 128 kept
_TMAP_FLOAT32 = 7  # CU_TENSOR_MAP_DATA_TYPE_FLOAT32
_L2_PROMOTION_NONE, _L2_PROMOTION_128B = 0, 2  # CUtensorMapL2promotion
_TMAP_MAX_BOX = 256  # a tensor copy's box: at most 256 elements per dimension

Block = tuple[int, int]  # (by, bx)
Records = dict[Block, dict[str, np.ndarray]]  # block -> {field: (L,) array}


class KernelError(RuntimeError):
    """A kernel failed to compile (the message holds nvcc's log) or failed on the GPU."""


class NoGPUError(RuntimeError):
    """No usable NVIDIA GPU: PyCUDA or the driver is missing, or no device is visible."""


@dataclass(frozen=True)
class CudaResult:
    """One kernel's output and timings.

    output : (H, W) float32
    times_ms : one CUDA-event timing per timed launch (after warm-up), in launch order
    load_records : (by, bx) -> {field: (L,) array} for each recorded block, L = shared slots in flat
        order; fields are :data:`RECORD_FIELDS` (``ghost`` bool, the rest int32; -1 = never loaded,
        ``writes`` counts how often the slot was stored)
    """

    output: np.ndarray
    geometry: TileGeometry
    times_ms: list[float]
    median_ms: float
    load_records: Records = field(default_factory=dict)
    kernel: str = ""  # the __global__ function that ran
    registers: int = 0  # per thread, from the compiled function
    local_bytes: int = 0  # per thread; > 0 means register spills
    compiler_log: str = ""  # what nvcc printed when it compiled without error


def kernel_source() -> str:
    """The text of ``kernels/conv2d.cu`` (read through importlib.resources, so it works installed)."""
    return importlib.resources.files("kernels").joinpath(KERNEL_FILE).read_text(encoding="utf-8")


def kernel_options(geom: TileGeometry, record: bool = False) -> list[str]:
    """nvcc ``-D`` options that build ``geom.strategy`` with ``geom``'s sizes."""
    opts = [
        f"-DCONV_{geom.strategy.upper()}",
        f"-DMASK={geom.mask_size}",
        f"-DRADIUS={geom.radius}",
        f"-DTILE_H={geom.tile[0]}",
        f"-DTILE_W={geom.tile[1]}",
        f"-DBLOCK_Y={geom.block[0]}",
        f"-DBLOCK_X={geom.block[1]}",
        f"-DSH_H={geom.shared_tile[0]}",
        f"-DSH_W={geom.shared_tile[1]}",
    ]
    if geom.strategy == "register":
        opts.append(f"-DREG_ROWS={REGISTER_ROWS}")
    elif geom.strategy in WIDE_STRATEGIES:
        opts += [f"-DREG_ROWS={REGISTER_ROWS}", f"-DREG_COLS={REGISTER2D_COLS}", f"-DHALO_X={geom.halo_cols}"]
    elif geom.strategy in TENSOR_STRATEGIES:
        opts += [
            f"-DHALO_X={geom.halo_cols}",
            f"-DTC_STEPS={tensorcore_steps(geom.mask_size)}",
            f"-DTC_BAND_ROW={tensorcore_band_row(geom.mask_size)}",
        ]
    if record:
        opts.append("-DRECORD")
    return opts


def _driver() -> Any:
    """``pycuda.driver``, initialised; NoGPUError when PyCUDA, the driver or a device is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # third-party import noise must not fail strict test runs
            import pycuda.driver as drv
    except Exception as e:  # ImportError, or OSError when libcuda.so cannot be loaded
        raise NoGPUError(
            f"PyCUDA cannot be used here ({type(e).__name__}: {e}); the CUDA kernels need "
            f"PyCUDA (`pip install pycuda`), an NVIDIA driver and a GPU"
        ) from e
    try:
        drv.init()
        count = drv.Device.count()
    except Exception as e:
        raise NoGPUError(
            f"the CUDA driver could not start ({type(e).__name__}: {e}); is there an NVIDIA "
            f"GPU and a working driver?"
        ) from e
    if count < 1:
        raise NoGPUError("the CUDA driver sees no GPU (check CUDA_VISIBLE_DEVICES and nvidia-smi)")
    return drv


def describe_gpu() -> str:
    """``"<name>, sm_XY, <n> GPU(s), CUDA driver API <version>"`` for GPU 0; NoGPUError says why not."""
    drv = _driver()
    dev = drv.Device(0)
    major, minor = dev.compute_capability()
    version = drv.get_driver_version()
    return f"{dev.name()}, sm_{major}{minor}, {drv.Device.count()} GPU(s), CUDA driver API {version}"


def cuda_available() -> bool:
    """True when PyCUDA imports and the driver sees at least one GPU; never raises, creates no context."""
    try:
        _driver()
    except Exception:
        return False
    return True


def precompile(
    configs: Iterable[tuple[TileGeometry, bool]], workers: int = 8
) -> dict[tuple[str, ...], str | None]:
    """Build ``(geometry, record)`` configurations in parallel into PyCUDA's on-disk compiler cache.

    A later :func:`run_cuda` of the same configuration then loads the cubin instead of running nvcc.
    Creates no context. Returns ``{options: None, or the error}``; errors are not raised here (the run
    that needs the configuration raises them with the full log).
    """
    drv = _driver()
    arch = "sm_{}{}".format(*drv.Device(0).compute_capability())
    from concurrent.futures import ThreadPoolExecutor

    from pycuda.compiler import compile as nvcc_compile

    source = kernel_source()
    jobs = list(dict.fromkeys(tuple(kernel_options(g, record)) for g, record in configs))

    def build(options: tuple[str, ...]) -> str | None:
        try:  # the same arguments SourceModule passes, so the cache key is the same
            nvcc_compile(source, options=list(options), no_extern_c=True, arch=arch)
        except Exception as e:
            return f"{type(e).__name__}: {getattr(e, 'stderr', '') or e}"
        return None

    if not jobs:
        return {}
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        first = build(jobs[0])  # alone: imports pycuda.compiler's helpers, memoizes nvcc's version
        with ThreadPoolExecutor(max(1, workers)) as pool:
            rest = list(pool.map(build, jobs[1:]))
    return dict(zip(jobs, [first, *rest], strict=True))


class _Session:
    """Device 0's retained primary context and the modules compiled in it, for the whole process."""

    def __init__(self, drv: Any) -> None:
        self.device = drv.Device(0)
        self.context = self.device.retain_primary_context()
        self.arch = "sm_{}{}".format(*self.device.compute_capability())
        self.modules: dict[tuple[Any, ...], tuple[Any, Any, str]] = {}
        self.lock = threading.RLock()  # one run at a time: runs share modules and their c_mask

    def function(self, geom: TileGeometry, record: bool) -> tuple[Any, Any, str]:
        """(module, function, compiler log) for ``geom``; compiled on first use. Context must be current."""
        options, source = kernel_options(geom, record), kernel_source()
        key = (source, *options)
        if key not in self.modules:
            module, log = _compile(source, options, self.arch, _describe(geom))
            func = module.get_function(f"conv_{geom.strategy}")
            if geom.strategy in BULK_STRATEGIES:  # tmap_in, tmap_out, in, height, width, pitch [, rec, ...]
                func.prepare("PPPiii" + ("PPi" if record else ""))
            else:  # in, [mask,] out, height, width [, rec, rec_blocks, n_rec]
                func.prepare(("PPP" if _global_mask(geom) else "PP") + "ii" + ("PPi" if record else ""))
            self.modules[key] = (module, func, log)
        return self.modules[key]

    def release(self) -> None:
        with contextlib.suppress(Exception):
            self.context.push()
            try:
                self.modules.clear()
            finally:
                self.context.pop()


def _global_mask(geom: TileGeometry) -> bool:
    """The kernel takes the mask as a pointer to global memory (naive, tensorcore), not in c_mask only."""
    return geom.strategy == "naive" or geom.strategy in TENSOR_STRATEGIES


def _global_mask_data(geom: TileGeometry, host_mask: np.ndarray) -> np.ndarray:
    """What the kernel's mask pointer points to: the mask (naive) or its band records (tensorcore)."""
    if geom.strategy in TENSOR_STRATEGIES:
        return band_records(geom, host_mask)
    return host_mask


_SESSION: _Session | None = None
_SESSION_LOCK = threading.Lock()


def _session(drv: Any) -> _Session:
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            try:
                _SESSION = _Session(drv)
            except Exception as e:
                raise NoGPUError(f"could not open GPU 0's primary context ({type(e).__name__}: {e})") from e
            atexit.register(_SESSION.release)
        return _SESSION


def _compile(source: str, options: list[str], arch: str, what: str) -> tuple[Any, str]:
    """(SourceModule, what nvcc printed) or KernelError with nvcc's log."""
    import pycuda.driver as drv
    from pycuda.compiler import SourceModule

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")  # "nvcc succeeded, but said ..." is kept, not raised
        try:
            module = SourceModule(source, options=options, no_extern_c=True, arch=arch)
        except drv.CompileError as e:
            log = "\n".join(x for x in (getattr(e, "stderr", ""), getattr(e, "stdout", "")) if x)
            raise KernelError(
                f"nvcc could not compile {what} with {' '.join(options)} -arch {arch}:\n{log or e}"
            ) from e
        except Exception as e:  # nvcc missing from PATH, the cubin rejected by the driver, ...
            raise KernelError(
                f"building {what} failed ({type(e).__name__}: {e}); is nvcc on PATH and as new as the driver?"
            ) from e
    return module, "\n".join(str(w.message) for w in said)


def _describe(geom: TileGeometry) -> str:
    rows, cols = geom.tile
    tile = str(rows) if rows == cols else f"{rows}x{cols}"
    return f"{geom.strategy} (mask {geom.mask_size}, tile {tile}, image {geom.height}x{geom.width})"


def _check_arrays(image: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    image, mask = np.asarray(image), np.asarray(mask)  # no copy: a huge image is checked before copying
    for name, a in (("image", image), ("mask", mask)):
        if a.ndim != 2:
            raise ValueError(f"the {name} must be 2-D, got shape {a.shape}")
        if a.dtype.kind not in "biuf":
            raise ValueError(f"the {name} must hold real numbers, got dtype {a.dtype}")
    if mask.shape[0] != mask.shape[1]:
        raise ValueError(f"the mask must be square, got {mask.shape[0]}x{mask.shape[1]}")
    if max(image.shape) > _MAX_SIDE:
        raise ValueError(f"image sides must be below 2^31, got {image.shape}")
    return image, mask


def _check_record_blocks(geom: TileGeometry, record_blocks: Iterable[Block]) -> list[Block]:
    blocks = list(dict.fromkeys((int(by), int(bx)) for by, bx in record_blocks))
    if not blocks:
        return blocks
    if geom.strategy not in SHARED_STRATEGIES:
        raise ValueError(
            f"{geom.strategy!r} loads nothing into shared memory, so there is nothing to "
            f"record; record_blocks works with {', '.join(SHARED_STRATEGIES)}"
        )
    if len(blocks) > MAX_RECORD_BLOCKS:
        raise ValueError(f"at most {MAX_RECORD_BLOCKS} blocks can be recorded, got {len(blocks)}")
    for by, bx in blocks:
        if not (0 <= by < geom.grid[0] and 0 <= bx < geom.grid[1]):
            raise ValueError(f"block ({by}, {bx}) is outside the grid {geom.grid[0]}x{geom.grid[1]}")
    return blocks


def run_cuda(
    image: np.ndarray,
    mask: np.ndarray,
    strategy: str,
    tile: int = 16,
    repeats: int = 20,
    record_blocks: Iterable[Block] = (),
    *,
    warmup: int = 2,
    rotate: int = 1,
) -> CudaResult:
    """Convolve ``image`` (H, W) with the odd square ``mask`` (K, K) on GPU 0 with one strategy.

    The output buffer starts as NaN. One checked launch and ``warmup - 1`` more run first, then
    ``repeats`` launches are timed back to back, each between two CUDA events. ``rotate`` > 1 keeps
    that many copies of the image on the GPU and cycles through them, so a timing does not find its
    input in L2. ``record_blocks`` runs the instrumented build once more for those ``(by, bx)`` blocks.

    Raises
    ------
    ValueError
        Bad arrays or parameters (also all that :func:`engine.tiling.geometry` rejects), or an image
        that does not fit the GPU's free memory.
    NoGPUError
        PyCUDA, the driver or a GPU is missing.
    KernelError
        nvcc failed (with its log) or a CUDA call failed.
    """
    image, mask = _check_arrays(image, mask)
    geom = geometry(image.shape[0], image.shape[1], mask.shape[0], strategy, tile)
    return run_cuda_geometry(image, mask, geom, repeats, record_blocks, warmup=warmup, rotate=rotate)


def run_cuda_geometry(
    image: np.ndarray,
    mask: np.ndarray,
    geom: TileGeometry,
    repeats: int = 20,
    record_blocks: Iterable[Block] = (),
    *,
    warmup: int = 2,
    rotate: int = 1,
) -> CudaResult:
    """:func:`run_cuda` with the geometry already built; ValueError unless ``geom`` fits the arrays.

    The launch is the one :func:`run_cuda` makes for ``geom``'s strategy and tile.
    """
    image, mask = _check_arrays(image, mask)
    geom.check_inputs(image.shape, mask.shape[0])
    for name, value in (("repeats", repeats), ("warmup", warmup), ("rotate", rotate)):
        if int(value) < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if geom.grid[0] > _MAX_GRID_Y:
        raise ValueError(f"{_describe(geom)} needs {geom.grid[0]} block rows; CUDA allows {_MAX_GRID_Y}")
    blocks = _check_record_blocks(geom, record_blocks)
    drv = _driver()
    session = _session(drv)
    if geom.strategy in BULK_STRATEGIES and session.device.compute_capability() < BULK_MIN_COMPUTE_CAPABILITY:
        major, minor = BULK_MIN_COMPUTE_CAPABILITY
        raise ValueError(
            f"{geom.strategy!r} needs the Tensor Memory Accelerator (compute capability "
            f"{major}.{minor} or newer); GPU 0 is {session.device.name()}, "
            f"sm_{session.arch[3:]}; use 'register2d', the same kernel with cp.async loads"
        )
    if (
        geom.strategy in TENSOR_STRATEGIES
        and session.device.compute_capability() < TENSOR_MIN_COMPUTE_CAPABILITY
    ):
        major, minor = TENSOR_MIN_COMPUTE_CAPABILITY
        raise ValueError(
            f"{geom.strategy!r} needs TF32 tensor cores (mma.sync m16n8k8, compute capability "
            f"{major}.{minor} or newer); GPU 0 is {session.device.name()}, sm_{session.arch[3:]}"
        )
    with session.lock:
        try:
            session.context.push()
        except Exception as e:
            raise NoGPUError(f"could not make GPU 0's primary context current ({e})") from e
        try:
            return _run(drv, session, image, mask, geom, int(repeats), int(warmup), int(rotate), blocks)
        except drv.Error as e:
            raise KernelError(f"CUDA error while running {_describe(geom)}: {type(e).__name__}: {e}") from e
        finally:
            drv.Context.pop()


def _run(
    drv: Any,
    session: _Session,
    image: np.ndarray,
    mask: np.ndarray,
    geom: TileGeometry,
    repeats: int,
    warmup: int,
    rotate: int,
    blocks: list[Block],
) -> CudaResult:
    height, width = image.shape
    bulk = geom.strategy in BULK_STRATEGIES
    pitch = -(-width // 4) * 4 if bulk else width  # tma: rows start 16 bytes apart
    nbytes = height * pitch * 4
    free, total = drv.mem_get_info()
    need = (rotate + 1) * nbytes + _HEADROOM_BYTES
    if need > free:
        raise ValueError(
            f"{_describe(geom)} needs {need / 2**20:,.0f} MiB of GPU memory ({rotate} input "
            f"and 1 output buffer); {free / 2**20:,.0f} of {total / 2**20:,.0f} MiB are free"
        )
    module, func, log = session.function(geom, record=False)
    _allow_shared(drv, func, geom)
    _check_fits(func, geom)
    host_in = np.ascontiguousarray(image, dtype=np.float32)  # (H, W)
    if pitch != width:
        padded = np.zeros((height, pitch), dtype=np.float32)  # (H, P): P - W unused columns
        padded[:, :width] = host_in
        host_in = padded
    host_mask = np.ascontiguousarray(mask, dtype=np.float32)  # (K, K)
    allocs: list[Any] = []
    try:
        ins = [_upload(drv, host_in, allocs) for _ in range(rotate)]
        out = drv.mem_alloc(nbytes)
        allocs.append(out)
        mask_args = []
        if _global_mask(geom):
            mask_args = [int(_upload(drv, _global_mask_data(geom, host_mask), allocs))]
        if geom.strategy != "naive":
            _set_constant_mask(drv, module, host_mask)
        grid = (geom.grid[1], geom.grid[0], 1)  # CUDA order (x, y, z)
        block = (geom.block[1], geom.block[0], 1)

        if bulk:
            maps = _tensor_maps(drv, geom, ins, out, pitch, allocs)  # buffer -> its descriptor

            def launch(fn: Any, src: Any, *extra: Any) -> None:
                fn.prepared_call(
                    grid,
                    block,
                    maps[int(src)],
                    maps[int(out)],
                    int(src),
                    np.int32(height),
                    np.int32(width),
                    np.int32(pitch),
                    *extra,
                    shared_size=geom.shared_bytes,
                )
        else:

            def launch(fn: Any, src: Any, *extra: Any) -> None:
                fn.prepared_call(
                    grid,
                    block,
                    int(src),
                    *mask_args,
                    int(out),
                    np.int32(height),
                    np.int32(width),
                    *extra,
                    shared_size=geom.shared_bytes,
                )

        records = _record(drv, session, geom, blocks, launch, ins[0], host_mask, allocs) if blocks else {}
        drv.memset_d32(out, _QUIET_NAN, height * pitch)
        launch(func, ins[0])
        drv.Context.synchronize()  # surfaces launch errors here
        for i in range(1, warmup):
            launch(func, ins[i % rotate])
        events = [drv.Event() for _ in range(repeats + 1)]
        events[0].record()
        for i in range(repeats):
            launch(func, ins[i % rotate])
            events[i + 1].record()
        events[-1].synchronize()
        times = [events[i].time_till(events[i + 1]) for i in range(repeats)]
        output = np.empty((height, pitch), dtype=np.float32)  # (H, P)
        drv.memcpy_dtoh(output, out)
        if pitch != width:
            output = np.ascontiguousarray(output[:, :width])  # (H, W)
    finally:
        for a in allocs:
            with contextlib.suppress(Exception):
                a.free()
    return CudaResult(
        output,
        geom,
        times,
        statistics.median(times),
        records,
        f"conv_{geom.strategy}",
        int(func.num_regs),
        int(func.local_size_bytes),
        log,
    )


def _tensor_maps(
    drv: Any, geom: TileGeometry, ins: list[Any], out: Any, pitch: int, allocs: list[Any]
) -> dict[int, int]:
    """tma's CUtensorMap descriptors, in one GPU buffer: ``{buffer address: descriptor address}``.

    Each input gets a box of the shared tile (SH_W x SH_H, fetched with 128-byte L2 promotion), the output
    a box of the output tile; both describe the (height, width) image with rows ``pitch`` floats apart, so
    the copy engine zero-fills (loads) or skips (stores) whatever lies outside it.
    """
    import ctypes

    try:
        encode = ctypes.CDLL("libcuda.so.1").cuTensorMapEncodeTiled
    except (OSError, AttributeError) as e:
        raise KernelError(
            f"the CUDA driver has no cuTensorMapEncodeTiled ({e}); tma needs CUDA 12 or newer"
        ) from e
    encode.restype = ctypes.c_int
    u32, u64 = ctypes.c_uint32, ctypes.c_uint64
    encode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        u32,
        ctypes.c_void_p,
        ctypes.POINTER(u64),
        ctypes.POINTER(u64),
        ctypes.POINTER(u32),
        ctypes.POINTER(u32),
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
    ]

    def descriptor(buffer: Any, box: tuple[int, int], promotion: int) -> bytes:  # box (cols, rows)
        if max(box) > _TMAP_MAX_BOX:
            raise ValueError(
                f"{_describe(geom)}: a tensor copy moves at most {_TMAP_MAX_BOX} elements per "
                f"dimension; the box is {box[0]}x{box[1]}"
            )
        raw = ctypes.create_string_buffer(2 * _TMAP_BYTES)
        at = -(-ctypes.addressof(raw) // 64) * 64  # 64-byte aligned, as the driver wants
        dims, strides = (u64 * 2)(geom.width, geom.height), (u64 * 1)(pitch * 4)  # innermost first; bytes
        rc = encode(
            at,
            _TMAP_FLOAT32,
            2,
            int(buffer),
            dims,
            strides,
            (u32 * 2)(*box),
            (u32 * 2)(1, 1),
            0,
            0,
            promotion,
            0,
        )  # no interleave, no swizzle, zero fill
        if rc != 0:
            raise KernelError(
                f"cuTensorMapEncodeTiled returned CUresult {rc} for {_describe(geom)} "
                f"(box {box[0]}x{box[1]}, row pitch {pitch * 4} bytes)"
            )
        return ctypes.string_at(at, _TMAP_BYTES)

    shared = (geom.shared_tile[1], geom.shared_tile[0])
    blobs = [descriptor(b, shared, _L2_PROMOTION_128B) for b in ins]
    blobs.append(descriptor(out, (geom.tile[1], geom.tile[0]), _L2_PROMOTION_NONE))
    table = _upload(drv, np.frombuffer(b"".join(blobs), dtype=np.uint8), allocs)  # cudaMalloc: 256-aligned
    return {int(b): int(table) + i * _TMAP_BYTES for i, b in enumerate([*ins, out])}


def _upload(drv: Any, host: np.ndarray, allocs: list[Any]) -> Any:
    buf = drv.mem_alloc(max(host.nbytes, 4))
    allocs.append(buf)
    drv.memcpy_htod(buf, host)
    return buf


def _set_constant_mask(drv: Any, module: Any, host_mask: np.ndarray) -> None:
    ptr, size = module.get_global("c_mask")
    if size != host_mask.nbytes:
        raise KernelError(
            f"c_mask holds {size} bytes, the mask {host_mask.nbytes}: the kernel and the launcher disagree"
        )
    drv.memcpy_htod(ptr, host_mask)


def _allow_shared(drv: Any, func: Any, geom: TileGeometry) -> None:
    """Opt ``func`` in to ``geom.shared_bytes`` of dynamic shared memory when that is past 48 KiB
    (tensorcore); KernelError when the GPU cannot give it."""
    if geom.shared_bytes <= 48 * 1024:
        return
    try:
        func.set_attribute(drv.function_attribute.MAX_DYNAMIC_SHARED_SIZE_BYTES, geom.shared_bytes)
    except drv.Error as e:
        raise KernelError(
            f"{_describe(geom)} needs {geom.shared_bytes} bytes of shared memory per block, more "
            f"than GPU 0 allows ({e}); use a smaller tile"
        ) from e


def _check_fits(func: Any, geom: TileGeometry) -> None:
    """The compiled kernel can launch geom's block (registers) and shared tile (static + dynamic)."""
    limit = int(func.max_threads_per_block)
    if geom.threads_per_block > limit:
        raise KernelError(
            f"{_describe(geom)}: the compiled kernel uses {func.num_regs} registers per thread "
            f"and can launch at most {limit} threads per block, not {geom.threads_per_block}"
        )
    if int(func.shared_size_bytes) != 0:
        raise KernelError(
            f"{_describe(geom)} declares {func.shared_size_bytes} bytes of static shared "
            f"memory; the launcher sizes shared memory from geometry() alone"
        )


def _record(
    drv: Any,
    session: _Session,
    geom: TileGeometry,
    blocks: list[Block],
    launch: Any,
    src: Any,
    host_mask: np.ndarray,
    allocs: list[Any],
) -> Records:
    """Run the instrumented build once; what each recorded block loaded into each shared slot."""
    module, func, _ = session.function(geom, record=True)
    _allow_shared(drv, func, geom)
    _check_fits(func, geom)
    _set_constant_mask(drv, module, host_mask)
    slots = geom.shared_tile[0] * geom.shared_tile[1]
    host = np.full((len(blocks), slots, len(RECORD_FIELDS)), -1, dtype=np.int32)  # (B, L, F)
    host[..., RECORD_FIELDS.index("writes")] = 0
    rec = _upload(drv, host, allocs)
    which = _upload(drv, np.asarray(blocks, dtype=np.int32).reshape(-1), allocs)  # (2B,) by, bx pairs
    launch(func, src, int(rec), int(which), np.int32(len(blocks)))
    drv.Context.synchronize()
    drv.memcpy_dtoh(host, rec)
    out: Records = {}
    for b, key in enumerate(blocks):
        arrays = {name: host[b, :, f].copy() for f, name in enumerate(RECORD_FIELDS)}  # each (L,)
        arrays["ghost"] = arrays["ghost"] == 1
        out[key] = arrays
    return out
