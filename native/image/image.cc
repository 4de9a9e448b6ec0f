// Pixel kernels of the input pipeline (tasksr_image.node): JPEG decoding with libjpeg-turbo (the library PIL decodes
// with, same DCT and upsampling, so the pixels equal PIL's), index-PNG decoding for label masks, and PIL-exact
// resampling and flips of 8-bit interleaved images, and their conversion to the planar float batches the engine
// takes. Separate from the libtorch addon so that data worker threads can
// load it: it keeps no state and every function is a pure function of its arguments.
#include <napi.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace {

// PIL's fixed point: 8 bits of result, 2 of headroom, 22 of fraction.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coeffs {
  std::vector<int> start;
  std::vector<int> count;
  std::vector<int32_t> weights;  // [out * ksize]
  int ksize = 0;
};

double Triangle(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// PIL 12 precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1), same double arithmetic, so
// the quantised weights are PIL's bit for bit.
Coeffs Coefficients(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;
  Coeffs k;
  k.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  k.start.resize(out_size);
  k.count.resize(out_size);
  k.weights.assign(static_cast<size_t>(out_size) * k.ksize, 0);
  std::vector<double> w(k.ksize);
  const double ss = 1.0 / filterscale;
  for (int o = 0; o < out_size; o++) {
    const double center = (o + 0.5) * scale;
    int lo = static_cast<int>(center - support + 0.5);
    if (lo < 0) lo = 0;
    int hi = static_cast<int>(center + support + 0.5);
    if (hi > in_size) hi = in_size;
    const int n = hi - lo;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
      w[i] = Triangle((i + lo - center + 0.5) * ss);
      total += w[i];
    }
    for (int i = 0; i < n; i++) {
      const double v = total != 0.0 ? w[i] / total : w[i];
      k.weights[static_cast<size_t>(o) * k.ksize + i] =
          static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    k.start[o] = lo;
    k.count[o] = n;
  }
  return k;
}

inline uint8_t Clip8(int32_t acc) {
  const int32_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One separable pass along x for output columns [x0, x1): [h, w, C] -> [h, x1 - x0, C], C a compile-time channel
// count so that the C sums of a pixel stay in registers.
template <int C>
void HPassWindow(const uint8_t* src, int w, int h, const Coeffs& k, int x0, int x1, uint8_t* dst) {
  const int vw = x1 - x0;
  for (int y = 0; y < h; y++) {
    const uint8_t* row = src + static_cast<size_t>(y) * w * C;
    uint8_t* drow = dst + static_cast<size_t>(y) * vw * C;
    for (int x = x0; x < x1; x++) {
      const int32_t* kw = &k.weights[static_cast<size_t>(x) * k.ksize];
      const uint8_t* p = row + static_cast<size_t>(k.start[x]) * C;
      const int n = k.count[x];
      int32_t acc[C];
      for (int ch = 0; ch < C; ch++) acc[ch] = 1 << (kPrecisionBits - 1);
      for (int i = 0; i < n; i++) {
        for (int ch = 0; ch < C; ch++) acc[ch] += p[i * C + ch] * kw[i];
      }
      for (int ch = 0; ch < C; ch++) drow[(x - x0) * C + ch] = Clip8(acc[ch]);
    }
  }
}

void PassX(const uint8_t* src, int w, int h, int c, int out, uint8_t* dst) {
  const Coeffs k = Coefficients(w, out);
  if (c == 3) return HPassWindow<3>(src, w, h, k, 0, out, dst);
  if (c == 1) return HPassWindow<1>(src, w, h, k, 0, out, dst);
  for (int y = 0; y < h; y++) {
    const uint8_t* row = src + static_cast<size_t>(y) * w * c;
    uint8_t* drow = dst + static_cast<size_t>(y) * out * c;
    for (int x = 0; x < out; x++) {
      const int32_t* kw = &k.weights[static_cast<size_t>(x) * k.ksize];
      const uint8_t* p = row + static_cast<size_t>(k.start[x]) * c;
      for (int ch = 0; ch < c; ch++) {
        int32_t acc = 1 << (kPrecisionBits - 1);
        for (int i = 0; i < k.count[x]; i++) acc += p[i * c + ch] * kw[i];
        drow[x * c + ch] = Clip8(acc);
      }
    }
  }
}

// One separable pass along y: [h, w, c] -> [out, w, c]. Rows are accumulated whole so the inner loop runs over
// contiguous bytes.
void PassY(const uint8_t* src, int w, int h, int c, int out, uint8_t* dst) {
  const Coeffs k = Coefficients(h, out);
  const size_t row_len = static_cast<size_t>(w) * c;
  std::vector<int32_t> acc(row_len);
  for (int y = 0; y < out; y++) {
    const int32_t* kw = &k.weights[static_cast<size_t>(y) * k.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int i = 0; i < k.count[y]; i++) {
      const uint8_t* row = src + static_cast<size_t>(k.start[y] + i) * row_len;
      const int32_t wi = kw[i];
      for (size_t j = 0; j < row_len; j++) acc[j] += row[j] * wi;
    }
    uint8_t* drow = dst + static_cast<size_t>(y) * row_len;
    for (size_t j = 0; j < row_len; j++) drow[j] = Clip8(acc[j]);
  }
}

// Calls body(copy) with a pixel copy specialised for 1 and 3 channels (masks, RGB), so the per-pixel copy compiles
// to plain moves rather than a memcpy call.
template <typename Body>
void ForChannels(int c, Body body) {
  if (c == 1) {
    body([](uint8_t* d, const uint8_t* s) { d[0] = s[0]; });
  } else if (c == 3) {
    body([](uint8_t* d, const uint8_t* s) {
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    });
  } else {
    body([c](uint8_t* d, const uint8_t* s) { std::memcpy(d, s, c); });
  }
}

struct Raster {
  const uint8_t* data;
  int w, h, c;
};

int IntArg(const Napi::CallbackInfo& info, size_t i, const char* name, int min) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (v != std::floor(v) || v < min || v > 1 << 30) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer >= " + std::to_string(min) +
                                                ", got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

// Arguments (src: Uint8Array, width, height, channels): the source raster, its byte length checked.
Raster RasterArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 4 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "expected (src: Uint8Array, width, height, channels, ...)");
  }
  const auto src = info[0].As<Napi::Uint8Array>();
  Raster r{src.Data(), IntArg(info, 1, "width", 1), IntArg(info, 2, "height", 1), IntArg(info, 3, "channels", 1)};
  const size_t want = static_cast<size_t>(r.w) * r.h * r.c;
  if (src.ElementLength() != want) {
    throw Napi::RangeError::New(info.Env(), "src holds " + std::to_string(src.ElementLength()) + " bytes, expected " +
                                                std::to_string(r.h) + "x" + std::to_string(r.w) + "x" +
                                                std::to_string(r.c) + " = " + std::to_string(want));
  }
  return r;
}

// resizeBilinear(src, w, h, c, outW, outH): PIL Image.resize(BILINEAR): x pass (rounded to 8 bits), then y pass; a
// pass is skipped when its axis keeps its size.
Napi::Value ResizeBilinear(const Napi::CallbackInfo& info) {
  const Raster r = RasterArg(info);
  const int ow = IntArg(info, 4, "outWidth", 1);
  const int oh = IntArg(info, 5, "outHeight", 1);
  auto out = Napi::Uint8Array::New(info.Env(), static_cast<size_t>(ow) * oh * r.c);
  if (ow == r.w && oh == r.h) {
    std::memcpy(out.Data(), r.data, out.ElementLength());
  } else if (oh == r.h) {
    PassX(r.data, r.w, r.h, r.c, ow, out.Data());
  } else if (ow == r.w) {
    PassY(r.data, r.w, r.h, r.c, oh, out.Data());
  } else {
    std::vector<uint8_t> mid(static_cast<size_t>(ow) * r.h * r.c);
    PassX(r.data, r.w, r.h, r.c, ow, mid.data());
    PassY(mid.data(), ow, r.h, r.c, oh, out.Data());
  }
  return out;
}

// PIL's nearest source index along one axis: floor((o + 0.5) * in / out), accumulated in double as PIL does.
std::vector<int> NearestIndex(int in_size, int out_size) {
  std::vector<int> idx(out_size);
  const double step = static_cast<double>(in_size) / out_size;
  double pos = step * 0.5;
  for (int o = 0; o < out_size; o++) {
    const int v = static_cast<int>(std::floor(pos));
    idx[o] = v < in_size - 1 ? v : in_size - 1;
    pos += step;
  }
  return idx;
}

// resizeNearest(src, w, h, c, outW, outH): PIL resize(NEAREST).
Napi::Value ResizeNearest(const Napi::CallbackInfo& info) {
  const Raster r = RasterArg(info);
  const int ow = IntArg(info, 4, "outWidth", 1);
  const int oh = IntArg(info, 5, "outHeight", 1);
  auto out = Napi::Uint8Array::New(info.Env(), static_cast<size_t>(ow) * oh * r.c);
  const std::vector<int> xs = NearestIndex(r.w, ow);
  const std::vector<int> ys = NearestIndex(r.h, oh);
  uint8_t* dst = out.Data();
  for (int y = 0; y < oh; y++) {
    const uint8_t* row = r.data + static_cast<size_t>(ys[y]) * r.w * r.c;
    uint8_t* drow = dst + static_cast<size_t>(y) * ow * r.c;
    ForChannels(r.c, [&](auto copy) {
      for (int x = 0; x < ow; x++) copy(drow + x * r.c, row + xs[x] * r.c);
    });
  }
  return out;
}

// resizeWindow(src, w, h, c, outW, outH, x, y, winW, winH, fill: number[], flip, nearest): the window (x, y,
// winW, winH) of the image resized to outW x outH (PIL bilinear as resizeBilinear, or PIL nearest), window pixels
// outside the resized image set to `fill` (one value per channel), mirrored left-right when `flip`: bit for bit
// resize, then crop, then flip, without resampling pixels the window drops or materialising the steps between. Every
// resampled pixel is the full-size pass's value (same coefficients, same 8-bit intermediate rows).
Napi::Value ResizeWindow(const Napi::CallbackInfo& info) {
  const Raster r = RasterArg(info);
  const int ow = IntArg(info, 4, "outWidth", 1);
  const int oh = IntArg(info, 5, "outHeight", 1);
  if (info.Length() < 13 || !info[6].IsNumber() || !info[7].IsNumber() || !info[10].IsArray() ||
      !info[11].IsBoolean() || !info[12].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), "expected (src, width, height, channels, outWidth, outHeight, x, y, "
                                           "windowWidth, windowHeight, fill: number[], flip, nearest)");
  }
  const double fx = info[6].As<Napi::Number>().DoubleValue();
  const double fy = info[7].As<Napi::Number>().DoubleValue();
  if (fx != std::floor(fx) || fy != std::floor(fy) || std::abs(fx) > 1 << 30 || std::abs(fy) > 1 << 30) {
    throw Napi::RangeError::New(info.Env(), "x and y must be integers");
  }
  const int wx = static_cast<int>(fx), wy = static_cast<int>(fy);
  const int ww = IntArg(info, 8, "windowWidth", 1);
  const int wh = IntArg(info, 9, "windowHeight", 1);
  const auto fillArr = info[10].As<Napi::Array>();
  if (static_cast<int>(fillArr.Length()) != r.c) {
    throw Napi::RangeError::New(info.Env(), "fill has " + std::to_string(fillArr.Length()) + " values for " +
                                                std::to_string(r.c) + " channels");
  }
  std::vector<uint8_t> fill(r.c);
  for (int ch = 0; ch < r.c; ch++) fill[ch] = static_cast<uint8_t>(fillArr.Get(ch).As<Napi::Number>().Int32Value());
  const bool flip = info[11].As<Napi::Boolean>();
  const bool nearest = info[12].As<Napi::Boolean>();
  const int c = r.c;
  auto out = Napi::Uint8Array::New(info.Env(), static_cast<size_t>(ww) * wh * c);
  uint8_t* dst = out.Data();
  // The window's part inside the resized image: resized columns [x0, x1), rows [y0, y1).
  const int x0 = std::max(wx, 0), x1 = std::min(wx + ww, ow);
  const int y0 = std::max(wy, 0), y1 = std::min(wy + wh, oh);
  const bool inside = x0 == wx && y0 == wy && x1 == wx + ww && y1 == wy + wh;
  if (!inside) {
    for (size_t i = 0; i < static_cast<size_t>(ww) * wh; i++) std::memcpy(dst + i * c, fill.data(), c);
  }
  if (x1 <= x0 || y1 <= y0) return out;
  const int vw = x1 - x0;
  // Where resized pixel (x, y) of the visible part lands in the window.
  auto put = [&](int x, int y) -> uint8_t* {
    const int col = x - wx;
    return dst + (static_cast<size_t>(y - wy) * ww + (flip ? ww - 1 - col : col)) * c;
  };
  if (nearest) {
    const std::vector<int> xs = NearestIndex(r.w, ow);
    const std::vector<int> ys = NearestIndex(r.h, oh);
    for (int y = y0; y < y1; y++) {
      const uint8_t* row = r.data + static_cast<size_t>(ys[y]) * r.w * c;
      for (int x = x0; x < x1; x++) std::memcpy(put(x, y), row + static_cast<size_t>(xs[x]) * c, c);
    }
    return out;
  }
  // Source rows the vertical pass reads for output rows [y0, y1) (all of them when the height is kept).
  Coeffs ky;
  int r0 = y0, r1 = y1;
  if (oh != r.h) {
    ky = Coefficients(r.h, oh);
    r0 = ky.start[y0];
    r1 = 0;
    for (int y = y0; y < y1; y++) r1 = std::max(r1, ky.start[y] + ky.count[y]);
  }
  // Horizontal pass over those rows, columns [x0, x1) only: [r1 - r0, vw, c] (8-bit, as PIL's intermediate image).
  std::vector<uint8_t> mid(static_cast<size_t>(r1 - r0) * vw * c);
  if (ow != r.w) {
    const Coeffs kx = Coefficients(r.w, ow);
    const uint8_t* rows = r.data + static_cast<size_t>(r0) * r.w * c;
    if (c == 3) HPassWindow<3>(rows, r.w, r1 - r0, kx, x0, x1, mid.data());
    else if (c == 1) HPassWindow<1>(rows, r.w, r1 - r0, kx, x0, x1, mid.data());
    else throw Napi::RangeError::New(info.Env(), "resizeWindow: channels must be 1 or 3, got " + std::to_string(c));
  } else {
    for (int y = r0; y < r1; y++) {
      std::memcpy(mid.data() + static_cast<size_t>(y - r0) * vw * c, r.data + (static_cast<size_t>(y) * r.w + x0) * c,
                  static_cast<size_t>(vw) * c);
    }
  }
  const size_t row_len = static_cast<size_t>(vw) * c;
  std::vector<uint8_t> line(row_len);
  std::vector<int32_t> acc(row_len);
  for (int y = y0; y < y1; y++) {
    const uint8_t* src_row;
    if (oh != r.h) {
      const int32_t* kw = &ky.weights[static_cast<size_t>(y) * ky.ksize];
      std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
      for (int i = 0; i < ky.count[y]; i++) {
        const uint8_t* row = mid.data() + static_cast<size_t>(ky.start[y] + i - r0) * row_len;
        const int32_t wi = kw[i];
        for (size_t j = 0; j < row_len; j++) acc[j] += row[j] * wi;
      }
      for (size_t j = 0; j < row_len; j++) line[j] = Clip8(acc[j]);
      src_row = line.data();
    } else {
      src_row = mid.data() + static_cast<size_t>(y - r0) * row_len;
    }
    if (!flip) {
      std::memcpy(put(x0, y), src_row, row_len);
    } else {
      for (int x = x0; x < x1; x++) std::memcpy(put(x, y), src_row + static_cast<size_t>(x - x0) * c, c);
    }
  }
  return out;
}

// flipHorizontal(src, w, h, c): mirrors every row.
Napi::Value FlipHorizontal(const Napi::CallbackInfo& info) {
  const Raster r = RasterArg(info);
  auto out = Napi::Uint8Array::New(info.Env(), static_cast<size_t>(r.w) * r.h * r.c);
  uint8_t* dst = out.Data();
  for (int y = 0; y < r.h; y++) {
    const uint8_t* row = r.data + static_cast<size_t>(y) * r.w * r.c;
    uint8_t* drow = dst + static_cast<size_t>(y) * r.w * r.c;
    ForChannels(r.c, [&](auto copy) {
      for (int x = 0; x < r.w; x++) copy(drow + (r.w - 1 - x) * r.c, row + x * r.c);
    });
  }
  return out;
}

// decodeJpeg(bytes: Uint8Array, grey: boolean): Promise<{data, width, height, channels} | undefined>. Decodes on the
// libuv thread pool. RGB output (grey expanded) unless `grey` and the file is greyscale; undefined for CMYK/YCCK
// files (the caller decodes those another way). Any libjpeg warning (a truncated file) is an error, as PIL's default.
// The job is queued with node's C API, not Napi::AsyncWorker: its completion also runs while an environment shuts
// down (a worker thread terminated, the process exiting on an error), where node-addon-api's handle scope and error
// objects throw C++ exceptions from a libuv callback, which aborts the process. Here every call's status is checked
// and a completion that cannot reach JS anymore just frees the job.
struct JpegJob {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> pixels;
  std::string error;
  bool grey = false;
  bool unsupported = false;
  int width = 0, height = 0, channels = 3;
};

// Runs on the thread pool: no JS, no exception may escape.
void DecodeJpegJob(napi_env, void* data) {
  auto* job = static_cast<JpegJob*>(data);
  tjhandle tj = tjInitDecompress();
  if (tj == nullptr) {
    job->error = "cannot start the JPEG decoder";
    return;
  }
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, job->bytes.data(), job->bytes.size(), &w, &h, &subsamp, &colorspace) != 0) {
    job->error = tjGetErrorStr2(tj);
  } else if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    job->unsupported = true;
  } else {
    job->channels = job->grey && colorspace == TJCS_GRAY ? 1 : 3;
    job->width = w;
    job->height = h;
    try {
      // A header claiming a huge image is an error, not a crash.
      job->pixels.resize(static_cast<size_t>(w) * h * job->channels);
      if (tjDecompress2(tj, job->bytes.data(), job->bytes.size(), job->pixels.data(), w, 0, h,
                        job->channels == 1 ? TJPF_GRAY : TJPF_RGB, 0) != 0) {
        job->error = tjGetErrorStr2(tj);
      }
    } catch (const std::bad_alloc&) {
      job->error = "cannot allocate " + std::to_string(w) + "x" + std::to_string(h) + " pixels";
    }
  }
  tjDestroy(tj);
}

// The settled value of a finished job, or nullptr when the environment refuses (it is shutting down).
napi_value JpegResult(napi_env env, JpegJob* job, bool* ok) {
  napi_value v = nullptr;
  if (!job->error.empty()) {
    napi_value msg = nullptr;
    *ok = false;
    if (napi_create_string_utf8(env, job->error.c_str(), job->error.size(), &msg) != napi_ok) return nullptr;
    return napi_create_error(env, nullptr, msg, &v) == napi_ok ? v : nullptr;
  }
  *ok = true;
  if (job->unsupported) return napi_get_undefined(env, &v) == napi_ok ? v : nullptr;
  void* bytes = nullptr;
  napi_value ab = nullptr, data = nullptr, out = nullptr, num = nullptr;
  if (napi_create_arraybuffer(env, job->pixels.size(), &bytes, &ab) != napi_ok) return nullptr;
  std::memcpy(bytes, job->pixels.data(), job->pixels.size());
  if (napi_create_typedarray(env, napi_uint8_array, job->pixels.size(), ab, 0, &data) != napi_ok) return nullptr;
  if (napi_create_object(env, &out) != napi_ok || napi_set_named_property(env, out, "data", data) != napi_ok) {
    return nullptr;
  }
  const std::pair<const char*, int> fields[] = {
      {"width", job->width}, {"height", job->height}, {"channels", job->channels}};
  for (const auto& [name, value] : fields) {
    if (napi_create_int32(env, value, &num) != napi_ok || napi_set_named_property(env, out, name, num) != napi_ok) {
      return nullptr;
    }
  }
  return out;
}

void SettleJpegJob(napi_env env, napi_status status, void* data) {
  std::unique_ptr<JpegJob> job(static_cast<JpegJob*>(data));
  napi_delete_async_work(env, job->work);
  if (status != napi_ok) return;
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  bool ok = true;
  napi_value v = JpegResult(env, job.get(), &ok);
  if (v != nullptr) {
    if (ok) napi_resolve_deferred(env, job->deferred, v);
    else napi_reject_deferred(env, job->deferred, v);
  }
  napi_close_handle_scope(env, scope);
}

// decodeJpeg(bytes: Uint8Array, grey: boolean): Promise<{data, width, height, channels} | undefined>. Decodes on the
// libuv thread pool. RGB output (grey expanded) unless `grey` and the file is greyscale; undefined for CMYK/YCCK
// files (the caller decodes those another way). Any libjpeg warning (a truncated file) is an error, as PIL's default.
Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  if (info.Length() < 2 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !info[1].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), "expected (bytes: Uint8Array, grey: boolean)");
  }
  const auto bytes = info[0].As<Napi::Uint8Array>();
  if (bytes.ElementLength() == 0) throw Napi::Error::New(info.Env(), "the file is empty");
  auto job = std::make_unique<JpegJob>();
  job->bytes.assign(bytes.Data(), bytes.Data() + bytes.ElementLength());
  job->grey = info[1].As<Napi::Boolean>();
  napi_env env = info.Env();
  napi_value promise = nullptr, name = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &job->deferred, &promise), Napi::Value());
  NAPI_THROW_IF_FAILED(env, napi_create_string_utf8(env, "tasksr:decodeJpeg", NAPI_AUTO_LENGTH, &name), Napi::Value());
  NAPI_THROW_IF_FAILED(env,
                       napi_create_async_work(env, nullptr, name, DecodeJpegJob, SettleJpegJob, job.get(), &job->work),
                       Napi::Value());
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    throw Napi::Error::New(env, "cannot queue the JPEG decode");
  }
  job.release();  // SettleJpegJob owns it now
  return Napi::Value(env, promise);
}

uint32_t Be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) |
         p[3];
}

int Paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// decodeIndexPng(bytes): {data, width, height} for a non-interlaced grey or palette PNG of 1/2/4/8 bits, its samples
// as one byte per pixel (indices, never colours); undefined for any other kind of PNG (the caller's general decoder
// reports or handles those). Chunk CRCs and the zlib stream are checked; damage throws naming what is wrong.
Napi::Value DecodeIndexPng(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "expected (bytes: Uint8Array)");
  }
  const auto arr = info[0].As<Napi::Uint8Array>();
  const uint8_t* b = arr.Data();
  const size_t n = arr.ElementLength();
  static const uint8_t kSig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  if (n < 8 || std::memcmp(b, kSig, 8) != 0) throw Napi::Error::New(env, "not a PNG file (wrong signature)");
  uint32_t w = 0, h = 0;
  int depth = 0, type = -1, interlace = 0;
  std::vector<uint8_t> idat;
  bool end = false;
  for (size_t pos = 8; pos < n && !end;) {
    if (pos + 12 > n) throw Napi::Error::New(env, "truncated PNG chunk");
    const uint32_t len = Be32(b + pos);
    if (len > n - pos - 12) throw Napi::Error::New(env, "truncated PNG chunk");
    const uint8_t* tag = b + pos + 4;
    const uint8_t* body = b + pos + 8;
    const uint32_t crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), tag, len + 4));
    if (crc != Be32(body + len)) {
      throw Napi::Error::New(env, "CRC mismatch in the " + std::string(reinterpret_cast<const char*>(tag), 4) +
                                      " chunk");
    }
    if (std::memcmp(tag, "IHDR", 4) == 0 && len >= 13) {
      w = Be32(body);
      h = Be32(body + 4);
      depth = body[8];
      type = body[9];
      interlace = body[12];
    } else if (std::memcmp(tag, "IDAT", 4) == 0) {
      idat.insert(idat.end(), body, body + len);
    } else if (std::memcmp(tag, "IEND", 4) == 0) {
      end = true;
    }
    pos += 12 + len;
  }
  if ((type != 0 && type != 3) || (depth != 1 && depth != 2 && depth != 4 && depth != 8) || interlace != 0) {
    return env.Undefined();
  }
  if (w == 0 || h == 0 || w > (1u << 20) || h > (1u << 20)) throw Napi::Error::New(env, "bad PNG size");
  if (!end) throw Napi::Error::New(env, "truncated PNG (no IEND chunk)");
  const size_t stride = (static_cast<size_t>(w) * depth + 7) / 8;
  std::vector<uint8_t> raw((stride + 1) * h);
  uLongf raw_len = raw.size();
  const int zrc = uncompress(raw.data(), &raw_len, idat.data(), idat.size());
  if (zrc != Z_OK || raw_len != raw.size()) {
    throw Napi::Error::New(env, zrc == Z_OK ? "PNG image data is shorter than its size" : "PNG image data is damaged");
  }
  // Unfilter in place; 1-channel PNGs filter with a left neighbour one byte away.
  std::vector<uint8_t> prev(stride, 0);
  for (uint32_t y = 0; y < h; y++) {
    uint8_t* row = raw.data() + y * (stride + 1);
    const int filter = row[0];
    uint8_t* cur = row + 1;
    for (size_t i = 0; i < stride; i++) {
      const int a = i > 0 ? cur[i - 1] : 0;
      const int up = prev[i];
      const int c = i > 0 ? prev[i - 1] : 0;
      switch (filter) {
        case 0: break;
        case 1: cur[i] = static_cast<uint8_t>(cur[i] + a); break;
        case 2: cur[i] = static_cast<uint8_t>(cur[i] + up); break;
        case 3: cur[i] = static_cast<uint8_t>(cur[i] + ((a + up) >> 1)); break;
        case 4: cur[i] = static_cast<uint8_t>(cur[i] + Paeth(a, up, c)); break;
        default: throw Napi::Error::New(env, "bad PNG row filter " + std::to_string(filter));
      }
    }
    std::memcpy(prev.data(), cur, stride);
  }
  auto data = Napi::Uint8Array::New(env, static_cast<size_t>(w) * h);
  uint8_t* dst = data.Data();
  const int per_byte = 8 / depth;
  const int value_mask = (1 << depth) - 1;
  for (uint32_t y = 0; y < h; y++) {
    const uint8_t* cur = raw.data() + y * (stride + 1) + 1;
    uint8_t* drow = dst + static_cast<size_t>(y) * w;
    if (depth == 8) {
      std::memcpy(drow, cur, w);
      continue;
    }
    for (uint32_t x = 0; x < w; x++) {
      const int shift = 8 - depth * (static_cast<int>(x % per_byte) + 1);
      drow[x] = static_cast<uint8_t>((cur[x / per_byte] >> shift) & value_mask);
    }
  }
  auto out = Napi::Object::New(env);
  out.Set("data", data);
  out.Set("width", w);
  out.Set("height", h);
  return out;
}

// Source index of output index o along an axis of `in` pixels padded at the end: `reflect` mirrors without repeating
// the edge (torch.nn.functional.pad "reflect", needs pad < in), otherwise the edge repeats ("replicate").
inline int PadIndex(int o, int in, bool reflect) {
  if (o < in) return o;
  return reflect ? 2 * (in - 1) - o : in - 1;
}

// toPlanarFloat(src, w, h, c, dst: Float32Array, offset, outW, outH, mode): writes the image as [3, outH, outW]
// float32 at dst[offset..], value / 255 in float (torchvision's to-tensor: uint8 -> float, then div(255); IEEE
// division is exact to the bit on every CPU, so this equals the engine's float().div(255)); a grey image fills all
// three planes. outW/outH >= w/h pad at the right and bottom with `mode` "reflect" or "replicate".
Napi::Value ToPlanarFloat(const Napi::CallbackInfo& info) {
  const Raster r = RasterArg(info);
  if (r.c != 1 && r.c != 3) throw Napi::RangeError::New(info.Env(), "channels must be 1 or 3, got " + std::to_string(r.c));
  if (info.Length() < 9 || !info[4].IsTypedArray() ||
      info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[8].IsString()) {
    throw Napi::TypeError::New(info.Env(), "expected (src, width, height, channels, dst: Float32Array, offset, "
                                           "outWidth, outHeight, mode: \"reflect\" | \"replicate\")");
  }
  auto dst = info[4].As<Napi::Float32Array>();
  const int ow = IntArg(info, 6, "outWidth", r.w);
  const int oh = IntArg(info, 7, "outHeight", r.h);
  const std::string mode = info[8].As<Napi::String>().Utf8Value();
  if (mode != "reflect" && mode != "replicate") {
    throw Napi::RangeError::New(info.Env(), "mode must be \"reflect\" or \"replicate\", got \"" + mode + "\"");
  }
  const bool reflect = mode == "reflect";
  if (reflect && (ow - r.w >= r.w || oh - r.h >= r.h)) {
    throw Napi::RangeError::New(info.Env(), "reflect padding needs pads smaller than the image: " +
                                                std::to_string(r.w) + "x" + std::to_string(r.h) + " -> " +
                                                std::to_string(ow) + "x" + std::to_string(oh));
  }
  if (!info[5].IsNumber()) throw Napi::TypeError::New(info.Env(), "offset must be a number");
  const double off = info[5].As<Napi::Number>().DoubleValue();
  const size_t plane = static_cast<size_t>(ow) * oh;
  if (off != std::floor(off) || off < 0 || off + 3.0 * plane > static_cast<double>(dst.ElementLength())) {
    throw Napi::RangeError::New(info.Env(), "dst holds " + std::to_string(dst.ElementLength()) +
                                                " floats, too few for 3x" + std::to_string(oh) + "x" +
                                                std::to_string(ow) + " at offset " + std::to_string(off));
  }
  float* out = dst.Data() + static_cast<size_t>(off);
  float lut[256];
  for (int v = 0; v < 256; v++) lut[v] = static_cast<float>(v) / 255.0f;
  for (int y = 0; y < oh; y++) {
    const uint8_t* row = r.data + static_cast<size_t>(PadIndex(y, r.h, reflect)) * r.w * r.c;
    for (int ch = 0; ch < 3; ch++) {
      float* drow = out + ch * plane + static_cast<size_t>(y) * ow;
      const uint8_t* s = row + (r.c == 3 ? ch : 0);
      for (int x = 0; x < r.w; x++) drow[x] = lut[s[x * r.c]];
      for (int x = r.w; x < ow; x++) drow[x] = lut[s[PadIndex(x, r.w, reflect) * r.c]];
    }
  }
  return info.Env().Undefined();
}

// firstOutOfRange(data: Uint8Array, limit, except): index of the first byte >= limit other than `except`, or -1
// (label-mask validation: class indices below the class count, or the ignore index).
Napi::Value FirstOutOfRange(const Napi::CallbackInfo& info) {
  if (info.Length() < 3 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "expected (data: Uint8Array, limit, except)");
  }
  const auto data = info[0].As<Napi::Uint8Array>();
  const int limit = IntArg(info, 1, "limit", 0);
  const int except = IntArg(info, 2, "except", 0);
  const uint8_t* p = data.Data();
  const size_t n = data.ElementLength();
  for (size_t i = 0; i < n; i++) {
    if (p[i] >= limit && p[i] != except) return Napi::Number::New(info.Env(), static_cast<double>(i));
  }
  return Napi::Number::New(info.Env(), -1);
}

// Turns C++ exceptions other than Napi::Error (std::bad_alloc from a huge image) into JS errors: node-addon-api
// converts only its own.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "out of memory for the image");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("resizeBilinear", Napi::Function::New(env, Guarded<ResizeBilinear>));
  exports.Set("resizeNearest", Napi::Function::New(env, Guarded<ResizeNearest>));
  exports.Set("resizeWindow", Napi::Function::New(env, Guarded<ResizeWindow>));
  exports.Set("flipHorizontal", Napi::Function::New(env, Guarded<FlipHorizontal>));
  exports.Set("decodeJpeg", Napi::Function::New(env, Guarded<DecodeJpeg>));
  exports.Set("firstOutOfRange", Napi::Function::New(env, Guarded<FirstOutOfRange>));
  exports.Set("toPlanarFloat", Napi::Function::New(env, Guarded<ToPlanarFloat>));
  exports.Set("decodeIndexPng", Napi::Function::New(env, Guarded<DecodeIndexPng>));
  return exports;
}

}  // namespace

NODE_API_MODULE(tasksr_image, Init)
