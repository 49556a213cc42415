#include "data/image_files.h"

#include "distillery/data.h"

// The decoders are libpng and libjpeg-turbo rather than a single-header reader
// such as stb_image: they are the decoders Debian maintains for untrusted files
// (security fixes arrive with the system), and both read the header's size
// before anything is allocated, so a file that declares a huge image is refused
// first. Only stb_image_resize is used from stb.
#include <png.h>
#include <stb_image_resize.h>
#include <turbojpeg.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <system_error>
#include <utility>

namespace distillery::detail {
namespace {

[[noreturn]] void fail(const std::string &origin, const std::string &what)
{
    throw DataError(origin + ": " + what);
}

// The size limit, checked on the header's numbers before any allocation.
void checkSize(std::uint64_t width, std::uint64_t height, const std::string &origin)
{
    if (width == 0 || height == 0)
        fail(origin, "declares an empty image (" + std::to_string(width) + " x " + std::to_string(height) + " pixels)");
    if (width * height > std::uint64_t(kMaxImagePixels))
        fail(origin, "declares " + std::to_string(width) + " x " + std::to_string(height) +
                         " pixels, more than Distillery reads (at most 16384 x 16384)");
}

void checkChannels(int channels, const std::string &origin)
{
    if (channels != 1 && channels != 3)
        fail(origin, "cannot decode to " + std::to_string(channels) + " channels (1 or 3)");
}

// Pixels with `from` channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) to `to`
// channels (1 or 3). Alpha is composed onto black as the bytes stand (v * a),
// and colour becomes grey by ITU-R BT.601 luma with the weights PIL and
// libjpeg use, so a PNG and a JPEG of the same colour picture give the same grey.
std::vector<std::uint8_t> convertPixels(const std::vector<std::uint8_t> &in, int from, int to)
{
    const bool alpha = from == 2 || from == 4;
    const int colours = alpha ? from - 1 : from;
    const std::size_t n = in.size() / std::size_t(from);
    std::vector<std::uint8_t> out(n * std::size_t(to));
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t *p = &in[i * std::size_t(from)];
        unsigned v[3] = {p[0], p[colours > 1 ? 1 : 0], p[colours > 1 ? 2 : 0]};
        if (alpha)
            for (auto &c : v)
                c = (c * p[from - 1] + 127) / 255;
        std::uint8_t *q = &out[i * std::size_t(to)];
        if (to == 1)
            q[0] = std::uint8_t(colours == 1 ? v[0] : (v[0] * 19595 + v[1] * 38470 + v[2] * 7471 + 0x8000) >> 16);
        else
            q[0] = std::uint8_t(v[0]), q[1] = std::uint8_t(v[1]), q[2] = std::uint8_t(v[2]);
    }
    return out;
}

// --- PNG, through libpng's simplified API -----------------------------------

// Frees libpng's state however the reading ends (a no-op once it is freed).
struct PngReader {
    png_image image;
    PngReader() { std::memset(&image, 0, sizeof image); image.version = PNG_IMAGE_VERSION; }
    ~PngReader() { png_image_free(&image); }
    PngReader(const PngReader &) = delete;
    PngReader &operator=(const PngReader &) = delete;
};

ImageHeader beginPng(PngReader &r, const std::uint8_t *data, std::size_t size, const std::string &origin)
{
    if (!png_image_begin_read_from_memory(&r.image, data, size))
        fail(origin, std::string("not a valid PNG image (") + r.image.message + ")");
    checkSize(r.image.width, r.image.height, origin);
    return {int(r.image.width), int(r.image.height), (r.image.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1};
}

Image decodePng(const std::uint8_t *data, std::size_t size, int channels, const std::string &origin)
{
    PngReader r;
    const ImageHeader header = beginPng(r, data, size, origin);
    // The file's own colour and alpha; palettes are expanded and 16 bits
    // scaled to 8. 16-bit files without a gamma chunk are taken as sRGB, as
    // every other reader does (libpng's default would take them as linear).
    const bool alpha = r.image.format & PNG_FORMAT_FLAG_ALPHA;
    const int natural = header.channels + (alpha ? 1 : 0);
    r.image.format = (header.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY) | (alpha ? PNG_FORMAT_FLAG_ALPHA : 0);
    r.image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    std::vector<std::uint8_t> pixels(std::size_t(header.width) * std::size_t(header.height) * std::size_t(natural));
    if (!png_image_finish_read(&r.image, nullptr, pixels.data(), 0, nullptr))
        fail(origin, std::string("corrupt or truncated PNG image (") + r.image.message + ")");
    Image out;
    out.width = header.width;
    out.height = header.height;
    out.channels = channels;
    out.pixels = natural == channels ? std::move(pixels) : convertPixels(pixels, natural, channels);
    return out;
}

// --- JPEG, through TurboJPEG ------------------------------------------------

struct TjHandle {
    tjhandle handle;
    explicit TjHandle(tjhandle h) : handle(h)
    {
        if (!handle)
            throw std::bad_alloc();
    }
    ~TjHandle() { tjDestroy(handle); }
    TjHandle(const TjHandle &) = delete;
    TjHandle &operator=(const TjHandle &) = delete;
    std::string error() const { return tjGetErrorStr2(handle); }
};

ImageHeader jpegHeader(const TjHandle &tj, const std::uint8_t *data, std::size_t size, const std::string &origin)
{
    int width = 0, height = 0, subsampling = 0, colourspace = 0;
    if (tjDecompressHeader3(tj.handle, data, static_cast<unsigned long>(size), &width, &height, &subsampling,
                            &colourspace) != 0)
        fail(origin, "not a valid JPEG image (" + tj.error() + ")");
    // A stream cut before its frame header passes as tables only, without a
    // size (libjpeg itself refuses a frame of zero width or height).
    if (width <= 0 || height <= 0)
        fail(origin, "not a valid JPEG image (no frame header: truncated?)");
    checkSize(std::uint64_t(width), std::uint64_t(height), origin);
    // libjpeg-turbo 2 converts neither to RGB; such files come from print work.
    if (colourspace == TJCS_CMYK || colourspace == TJCS_YCCK)
        fail(origin, "is a CMYK JPEG, which Distillery does not read (save it as RGB)");
    return {width, height, colourspace == TJCS_GRAY ? 1 : 3};
}

Image decodeJpeg(const std::uint8_t *data, std::size_t size, int channels, const std::string &origin)
{
    TjHandle tj(tjInitDecompress());
    const ImageHeader header = jpegHeader(tj, data, size, origin);
    Image out;
    out.width = header.width;
    out.height = header.height;
    out.channels = channels;
    out.pixels.resize(std::size_t(header.width) * std::size_t(header.height) * std::size_t(channels));
    // libjpeg converts grey to RGB and takes the luma of colour itself. Stopping
    // on warnings makes a truncated file an error instead of a grey lower half.
    if (tjDecompress2(tj.handle, data, static_cast<unsigned long>(size), out.pixels.data(), header.width, 0,
                      header.height, channels == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_STOPONWARNING) != 0)
        fail(origin, "corrupt or truncated JPEG image (" + tj.error() + ")");
    return out;
}

void checkImage(const Image &image, const std::string &origin)
{
    checkChannels(image.channels, origin);
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != std::size_t(image.width) * std::size_t(image.height) * std::size_t(image.channels))
        fail(origin, "the image's size does not match its pixels");
}

} // namespace

ImageFormat sniffImageFormat(const std::uint8_t *data, std::size_t size)
{
    static const std::uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 8 && std::memcmp(data, png, 8) == 0)
        return ImageFormat::Png;
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return ImageFormat::Jpeg;
    return ImageFormat::Unknown;
}

ImageHeader readImageHeader(const std::uint8_t *data, std::size_t size, const std::string &origin)
{
    switch (sniffImageFormat(data, size)) {
    case ImageFormat::Png: {
        PngReader r;
        return beginPng(r, data, size, origin);
    }
    case ImageFormat::Jpeg:
        return jpegHeader(TjHandle(tjInitDecompress()), data, size, origin);
    case ImageFormat::Unknown:
        break;
    }
    fail(origin, size == 0 ? "is empty (not a PNG or JPEG image)" : "not a PNG or JPEG image");
}

Image decodeImage(const std::uint8_t *data, std::size_t size, int channels, const std::string &origin)
{
    checkChannels(channels, origin);
    switch (sniffImageFormat(data, size)) {
    case ImageFormat::Png:
        return decodePng(data, size, channels, origin);
    case ImageFormat::Jpeg:
        return decodeJpeg(data, size, channels, origin);
    case ImageFormat::Unknown:
        break;
    }
    fail(origin, size == 0 ? "is empty (not a PNG or JPEG image)" : "not a PNG or JPEG image");
}

Image resizeImage(const Image &image, int width, int height)
{
    checkImage(image, "resizing an image");
    if (width <= 0 || height <= 0 || std::int64_t(width) * height > kMaxImagePixels)
        fail("resizing an image", "cannot resize to " + std::to_string(width) + " x " + std::to_string(height));
    if (width == image.width && height == image.height)
        return image;
    Image out;
    out.width = width;
    out.height = height;
    out.channels = image.channels;
    out.pixels.resize(std::size_t(width) * std::size_t(height) * std::size_t(image.channels));
    if (!stbir_resize_uint8(image.pixels.data(), image.width, image.height, 0, out.pixels.data(), width, height, 0,
                            image.channels))
        fail("resizing an image", "stb_image_resize failed (out of memory?)");
    return out;
}

void writePng(const std::string &path, const Image &image)
{
    checkImage(image, path);
    png_image png;
    std::memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = png_uint_32(image.width);
    png.height = png_uint_32(image.height);
    png.format = image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr))
        fail(path, std::string("cannot write the PNG image (") + png.message + ")");
}

void writeJpeg(const std::string &path, const Image &image, int quality)
{
    checkImage(image, path);
    if (quality < 1 || quality > 100)
        fail(path, "JPEG quality " + std::to_string(quality) + " is not from 1 to 100");
    TjHandle tj(tjInitCompress());
    unsigned char *jpeg = nullptr;
    unsigned long size = 0;
    const bool grey = image.channels == 1;
    const int status = tjCompress2(tj.handle, image.pixels.data(), image.width, 0, image.height,
                                   grey ? TJPF_GRAY : TJPF_RGB, &jpeg, &size, grey ? TJSAMP_GRAY : TJSAMP_444, quality,
                                   TJFLAG_ACCURATEDCT);
    std::unique_ptr<unsigned char, void (*)(unsigned char *)> owned(jpeg, tjFree);
    if (status != 0)
        fail(path, "cannot encode the JPEG image (" + tj.error() + ")");
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f)
        fail(path, "cannot write: " + std::error_code(errno, std::generic_category()).message());
    const bool written = std::fwrite(jpeg, 1, size, f) == size;
    if (std::fclose(f) != 0 || !written)
        fail(path, "cannot write: disk full or write error");
}

} // namespace distillery::detail
