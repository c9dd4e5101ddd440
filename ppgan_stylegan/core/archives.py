"""Zip members read with a bound: the declared and the actual inflated size (a zip bomb declares little and
inflates to gigabytes, or declares its real size), checked before and while the member is read as a stream.

The bound of an image member follows from the image size the config allows (``image_bound``: 16-bit RGBA
stored raw, plus metadata); without a size, and for every other member, ``CEILING``.
"""
from .errors import UserError

CEILING = 256 << 20  # bytes: no image or label file of a training set is larger
METADATA = 1 << 20  # bytes an image file may carry beside its pixels (ICC profiles, EXIF, text chunks)


def image_bound(shape=None):
    """Bytes an image file of ``shape`` ``(H, W)`` may take: 8 bytes a pixel (16-bit RGBA, uncompressed) and
    ``METADATA``, at most ``CEILING`` (also without a shape)."""
    if shape is None:
        return CEILING
    return min(CEILING, int(shape[0]) * int(shape[1]) * 8 + METADATA)


def read_member(archive, name, limit=CEILING, where=None):
    """The bytes of member ``name`` of the open ``zipfile.ZipFile`` ``archive``, at most ``limit`` of them: a
    member that declares or inflates to more is a one-line ``UserError`` naming it (``where``: how to name it)."""
    where = where or f"{archive.filename}:{name}"
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise UserError(f"{where}: declares {info.file_size:,} bytes inflated, more than the {limit:,} allowed "
                        "(a zip bomb, or not an image of this size)")
    with archive.open(info) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"{where}: inflates past {limit:,} bytes although it declares {info.file_size:,} "
                        "(a zip bomb)")
    return data
