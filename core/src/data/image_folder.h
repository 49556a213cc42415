// The user's own images: PNG and JPEG files in one folder per class (the layout
// of torchvision's ImageFolder), listed, then decoded on all cores into one
// block of bytes. No LibTorch and no Qt. Errors are DataError naming the file
// or folder.
#pragma once

#include "data/readers.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace distillery::detail {

struct ImageFolderSettings {
    int channels = 0;           // 1 (grey) or 3 (RGB); 0: as the first image
    int width = 0, height = 0;  // 0: the first image's
    bool resize = true;         // resize images of another size (else they are an error)
    int threads = 0;            // decoding threads; 0: all cores
};

struct ImageFolderFile {
    std::string path;
    std::int64_t label = 0;
    std::uint64_t size = 0;     // bytes, when listed
    std::int64_t mtime = 0;     // last modification, ns since the epoch, when listed
    std::int64_t ctime = 0;     // last status change, ns: unlike mtime, copies cannot set it
    std::uint64_t inode = 0;    // a file replaced under the same name has another
};

struct ImageFolderListing {
    std::string root;                       // the folder holding the class folders
    std::vector<std::string> classNames;    // label i is classNames[i]
    std::vector<ImageFolderFile> files;
};

struct ImageFolderLayout {
    ImageFolderListing train;
    std::optional<ImageFolderListing> test;   // when `dir` has train/ and test/
};

// `dir` holds one subfolder per class, or exactly the two subfolders train/ and
// test/, each laid out that way; then the test classes must be among the train
// classes, matched by name, and keep the train labels (the test listing has the
// train class names). Class names are the folder names, sorted; label i is the
// i-th. Files are ordered by file name, then by class: a folder written from an
// indexed data set with the indices as zero-padded file names (00000.png, ...)
// reads back in the data set's order. Hidden files and folders (a leading '.')
// are skipped, and so are files other than images directly in `dir` (a README).
// Class folders hold .png, .jpg and .jpeg files only (any case); anything else
// there is an error naming it. Other errors: `dir` is not a folder, has no class
// folders, has images lying directly in it, or a class folder is empty.
ImageFolderLayout listImageFolders(const std::string &dir);

// The settings with channels and size filled in where they are 0, from the
// header of the listing's first file (1 for grey, 3 for colour). Checks them.
ImageFolderSettings resolveImageFolderSettings(const ImageFolderListing &listing, ImageFolderSettings settings);

using DecodeProgress = std::function<void(std::int64_t done, std::int64_t total)>;

// Decodes every file, in the listing's order, into count x C x H x W bytes with
// the listing's labels (settings resolved first where needed). The work is
// shared by `threads` threads, each writing its own images' rows. An image of
// another size is resized when settings.resize, else an error naming it and both
// sizes. The first error stops every thread and is thrown. `progress` is called
// on the calling thread only, at most every 100 ms, and once at the end with
// done == total; an exception from it stops the decoding and is passed on (a
// way to cancel). A total over 16 GiB is refused before it is allocated.
ByteImages decodeImageFolder(const ImageFolderListing &listing, const ImageFolderSettings &settings,
                             const DecodeProgress &progress = {});

// The key of the decoded-data cache (data/data_cache.h) for `layout` read with
// the resolved `settings`: the settings and every file with its label, size and
// modification time, so that any change to the files reads as stale.
std::string imageFolderCacheKey(const ImageFolderLayout &layout, const ImageFolderSettings &settings);

} // namespace distillery::detail
