#include "bwplan/catalog.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bwplan/config_fields.hpp"
#include "bwplan/embedded_configs.hpp"
#include "bwplan/error.hpp"
#include "bwplan/suggest.hpp"
#include "bwplan/utf8.hpp"
#include "json_reader.hpp"
#include "model_file.hpp"

namespace bwplan {

namespace {

using io::ObjectReader;

constexpr double k_max_bytes = 1e18;
constexpr double k_max_rate = 1e20;
// Physical floors, as --set holds the model constants to: a GPU or link slower than this, or a
// power limit below k_min_gpu_watts, is a typo (2.5 for 2.5e11), not a part to plan on.
constexpr double k_min_rate = 1e9; // bytes, bits or FLOP per second
constexpr double k_min_gpu_bytes = 1e8;
constexpr double k_max_watts = 1e5;

/// A byte count: whole, within [lo, hi].
double whole_bytes(ObjectReader& r, const std::string& key, double lo, double hi) {
  const double v = r.number(key, lo, hi);
  if (std::floor(v) != v) {
    throw Error(fmt::format("{}: {} is not a whole number of bytes", r.at(key), v));
  }
  return v;
}

/// A string that must match `pattern` (ECMAScript), described as `allowed` in the error.
std::string matching(ObjectReader& r, const std::string& key, const char* pattern,
                     const char* allowed) {
  std::string v = r.string(key);
  if (!std::regex_match(v, std::regex(pattern))) {
    throw Error(fmt::format("{}: '{}' is not {}", r.at(key), controls_escaped(v), allowed));
  }
  return v;
}

std::vector<std::string> read_sources(ObjectReader& r) {
  std::vector<std::string> s = r.printable_string_list("sources");
  if (s.empty()) {
    throw Error(r.at("sources") + ": must list at least one source");
  }
  return s;
}

void read_schema_version(ObjectReader& r) {
  (void)r.integer("schema_version", 1, 1);
}

GpuSpec read_gpu(ObjectReader& r) {
  GpuSpec g;
  read_schema_version(r);
  g.name = r.printable_string("name");
  g.display_name = r.printable_string("display_name");
  g.memory_bytes = whole_bytes(r, "memory_bytes", k_min_gpu_bytes, k_max_bytes);
  g.cuda_total_bytes =
      r.has("cuda_total_bytes") ? whole_bytes(r, "cuda_total_bytes", 1, g.memory_bytes) : 0;
  g.hbm_bandwidth_bytes_per_s = r.number("hbm_bandwidth_bytes_per_s", k_min_rate, k_max_rate);
  ObjectReader f = r.object("dense_flops_per_s");
  struct Rate {
    const char* key;
    double PeakFlops::*member;
    bool required;
  };
  static constexpr std::array<Rate, 6> k_rates = {{{"fp32", &PeakFlops::fp32, true},
                                                   {"tf32", &PeakFlops::tf32, false},
                                                   {"bf16", &PeakFlops::bf16, true},
                                                   {"fp8", &PeakFlops::fp8, false},
                                                   {"mxfp8", &PeakFlops::mxfp8, false},
                                                   {"nvfp4", &PeakFlops::nvfp4, false}}};
  for (const Rate& k : k_rates) {
    f.allow(k.key); // all known first: a missing one is named as such, not as 'fp8' unknown
  }
  for (const Rate& k : k_rates) {
    g.dense_flops_per_s.*k.member =
        k.required ? f.number(k.key, k_min_rate, k_max_rate)
                   : f.optional_number(k.key, k_min_rate, k_max_rate).value_or(0);
  }
  f.finish();
  g.nvlink_bandwidth_bytes_per_s = r.number("nvlink_bandwidth_bytes_per_s", k_min_rate, k_max_rate);
  g.nvlink_domain_gpus =
      r.optional_integer("nvlink_domain_gpus", 2, k_max_config_count).value_or(0);
  g.compute_capability = matching(r, "compute_capability", "[0-9]+\\.[0-9]+|gfx[0-9a-f]+",
                                  "a compute capability (e.g. 10.0) or an AMD gfx target");
  g.tdp_watts = r.number("tdp_watts", k_min_gpu_watts, k_max_watts);
  // The limit the part runs at unless an instance or a measured run says otherwise (a custom part
  // shipped below its TDP); absent: the TDP.
  g.power_limit_watts =
      r.optional_number("power_limit_watts", k_min_gpu_watts, g.tdp_watts).value_or(0);
  g.flash2_attention_speed_ratio = r.number("flash2_attention_speed_ratio", 0.05, 1);
  g.gemm_efficiency_ratio = r.optional_number("gemm_efficiency_ratio", 0.05, 2).value_or(1.0);
  for (const std::string& p : r.string_list("supported_precisions")) {
    const Precision precision = parse_enum_or_throw<Precision>(p, r.at("supported_precisions"));
    if (std::find(g.supported_precisions.begin(), g.supported_precisions.end(), precision) !=
        g.supported_precisions.end()) {
      throw Error(fmt::format("{}: '{}' is listed twice", r.at("supported_precisions"), p));
    }
    g.supported_precisions.push_back(precision);
  }
  if (g.supported_precisions.empty()) {
    throw Error(fmt::format("{}: a GPU trains in at least one precision (allowed: fp32, bf16, ...)",
                            r.at("supported_precisions")));
  }
  // A precision the part trains in needs its own rate: without one the time model would run it
  // at the bf16 rate, and memory would misread which generation the part is.
  for (const Precision p : g.supported_precisions) {
    const auto [key, rate] = [&]() -> std::pair<const char*, double> {
      switch (p) {
      case Precision::fp8_tensorwise:
      case Precision::fp8_rowwise: return {"fp8", g.dense_flops_per_s.fp8};
      case Precision::mxfp8: return {"mxfp8", g.dense_flops_per_s.mxfp8};
      case Precision::nvfp4: return {"nvfp4", g.dense_flops_per_s.nvfp4};
      default: return {"", 1.0};
      }
    }();
    if (rate <= 0) {
      throw Error(fmt::format("{}/{}: missing, but '{}' is in supported_precisions (give its "
                              "dense rate, or remove the precision)",
                              r.at("dense_flops_per_s"), key, name_of(p)));
    }
  }
  g.sources = read_sources(r);
  g.notes = r.optional_printable_string("notes").value_or("");
  return g;
}

InstanceSpec read_instance(ObjectReader& r) {
  InstanceSpec s;
  read_schema_version(r);
  s.name = r.printable_string("name");
  s.gpu = r.printable_string("gpu");
  s.gpus_per_node = r.integer("gpus_per_node", 1, 1024);
  s.efa_bandwidth_bits_per_s = r.number("efa_bandwidth_bits_per_s", k_min_rate, k_max_rate);
  s.efa_generation = r.printable_string("efa_generation");
  s.host_memory_bytes = whole_bytes(r, "host_memory_bytes", k_min_gpu_bytes, k_max_bytes);
  s.vcpus = r.integer("vcpus", 1, 1 << 20);
  s.local_nvme_bytes = whole_bytes(r, "local_nvme_bytes", 0, k_max_bytes);
  s.gpu_power_limit_watts = r.number("gpu_power_limit_watts", k_min_gpu_watts, k_max_watts);
  ObjectReader p = r.object("price");
  s.price.usd_per_hour = p.number("usd_per_hour", 0.01, 1e7); // a zero price ranks nothing
  s.price.kind = p.printable_string("kind");
  s.price.region = p.printable_string("region");
  s.price.as_of = matching(p, "as_of", "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])",
                           "a date, YYYY-MM-DD");
  s.price.source = p.printable_string("source");
  p.finish();
  s.sources = read_sources(r);
  s.notes = r.optional_printable_string("notes").value_or("");
  return s;
}

ModelConstants read_constants(ObjectReader& r) {
  read_schema_version(r);
  (void)r.printable_string("name");
  ModelConstants k;
  for (const char* section : {"memory", "time"}) {
    ObjectReader s = r.object(section);
    for (const std::string& key : constant_keys()) {
      const std::string prefix = std::string(section) + ".";
      if (key.rfind(prefix, 0) == 0) {
        const std::string name = key.substr(prefix.size());
        const double v = s.number(name, 0, 1e30);
        io::in_context(s.at(name), [&] { set_constant(k, key, v); });
      }
    }
    (std::string(section) == "memory" ? k.memory.band_measured_gpus : k.time.band_measured_gpus) =
        s.string_list("band_measured_gpus");
    s.finish();
  }
  k.sources = read_sources(r);
  return k;
}

ModelSpec read_preset(ObjectReader& r, const std::string& where) {
  read_schema_version(r);
  ModelSpec m = io::read_model_fields(r);
  m.sources = read_sources(r);
  validate_model(m, where);
  return m;
}

// "configs/gpus/b200.json" -> {"gpus", "b200"}
std::pair<std::string, std::string> kind_and_stem(const std::string& path) {
  const std::filesystem::path p(path);
  return {p.parent_path().filename().string(), p.stem().string()};
}

template <class T> void check_unique_and_sort(std::vector<T>& v, const char* what) {
  std::sort(v.begin(), v.end(), [](const T& a, const T& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i].name == v[i - 1].name) {
      throw Error(fmt::format("catalog: {} '{}' is defined twice", what, v[i].name));
    }
  }
}

template <class T> std::vector<std::string> names_of(const std::vector<T>& v) {
  std::vector<std::string> n;
  for (const T& x : v) {
    n.push_back(x.name);
  }
  return n;
}

template <class T>
const T& lookup(const std::vector<T>& v, std::string_view name, const char* what,
                const char* list_cmd) {
  for (const T& x : v) {
    if (x.name == name) {
      return x;
    }
  }
  throw Error(fmt::format("unknown {} '{}'{}; see 'bwplan {}'", what, name,
                          did_you_mean(name, names_of(v)), list_cmd));
}

} // namespace

Catalog load_catalog(const std::vector<SourceFile>& files, std::string origin) {
  Catalog c;
  c.origin = std::move(origin);
  for (const SourceFile& f : files) {
    const auto [kind, stem] = kind_and_stem(f.path);
    const nlohmann::json j = io::parse_json(f.contents, f.path);
    ObjectReader r(j, f.path);
    std::string name;
    if (kind == "gpus") {
      c.gpus.push_back(read_gpu(r));
      name = c.gpus.back().name;
    } else if (kind == "instances") {
      c.instances.push_back(read_instance(r));
      name = c.instances.back().name;
    } else if (kind == "models") {
      c.models.push_back(read_preset(r, f.path));
      name = c.models.back().name;
    } else if (kind == "constants") {
      c.constants = read_constants(r);
      name = "model";
    } else {
      throw Error(
          fmt::format("{}: not in a catalog folder (allowed gpus/, instances/, models/)", f.path));
    }
    r.finish();
    if (name != stem) {
      throw Error(fmt::format("{}: /name: '{}' does not match the file name '{}.json'", f.path,
                              name, stem));
    }
  }
  check_unique_and_sort(c.gpus, "GPU");
  check_unique_and_sort(c.instances, "instance type");
  check_unique_and_sort(c.models, "model");
  std::stable_sort(c.models.begin(), c.models.end(), [](const ModelSpec& a, const ModelSpec& b) {
    return count_parameters(a).total < count_parameters(b).total;
  });
  for (const InstanceSpec& s : c.instances) {
    const GpuSpec& g =
        io::in_context(fmt::format("instances/{}.json: /gpu", s.name),
                       [&]() -> const GpuSpec& { return lookup(c.gpus, s.gpu, "GPU", "gpus"); });
    if (s.gpu_power_limit_watts > g.tdp_watts) {
      throw Error(fmt::format("instance type '{}': /gpu_power_limit_watts: {} is above GPU '{}''s "
                              "TDP of {} W (allowed {} to {})",
                              s.name, s.gpu_power_limit_watts, g.name, g.tdp_watts, k_min_gpu_watts,
                              g.tdp_watts));
    }
  }
  return c;
}

Catalog builtin_catalog() {
  std::vector<SourceFile> files;
  for (const EmbeddedFile& f : embedded_config_files()) {
    files.push_back({"configs/" + std::string(f.path), std::string(f.contents)});
  }
  return load_catalog(files, "built-in");
}

const GpuSpec& Catalog::gpu(std::string_view name) const {
  return lookup(gpus, name, "GPU", "gpus");
}

const InstanceSpec& Catalog::instance(std::string_view name) const {
  return lookup(instances, name, "instance type", "instances");
}

GpuSpec Catalog::gpu_of(const InstanceSpec& instance) const {
  GpuSpec g = gpu(instance.gpu);
  g.power_limit_watts = instance.gpu_power_limit_watts;
  return g;
}

const ModelSpec* Catalog::find_model(std::string_view name) const {
  for (const ModelSpec& m : models) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

std::vector<std::string> Catalog::model_names() const {
  return names_of(models);
}

namespace {

/// Everything `fd` holds until its end, refused past `max_bytes` (an endless pipe stops there).
std::string read_to_end(int fd, const std::string& name, std::size_t max_bytes) {
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw Error(fmt::format("{}: cannot read: {}", name, std::strerror(errno)));
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      throw Error(fmt::format("{}: file is larger than {} bytes", name, max_bytes));
    }
  }
  return text;
}

} // namespace

std::string read_text_file(const std::filesystem::path& p, std::size_t max_bytes) {
  if (p.empty()) {
    throw Error("'': an empty path names no file");
  }
  // Opened without blocking, then inspected: a FIFO with no writer would otherwise wait forever
  // in open(). A pipe with a writer (`<(cmd)`, /dev/stdin) is read to its end; a device is
  // bounded by max_bytes like a file.
  const int fd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw Error(fmt::format("{}: cannot open file: {}", p.string(), std::strerror(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw Error(fmt::format("{}: cannot read: {}", p.string(), std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    throw Error(fmt::format("{}: is a directory, expected a file", p.string()));
  }
  if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK); // a writer's data is waited for
  }
  return read_to_end(fd, p.string(), max_bytes);
}

std::string read_stdin_text(std::size_t max_bytes) {
  return read_to_end(STDIN_FILENO, "standard input", max_bytes);
}

std::vector<SourceFile> read_catalog_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(fmt::format("--configs '{}': not a directory (allowed: a directory holding gpus/, "
                            "instances/ and models/)",
                            dir.string()));
  }
  // One folder's entries, hidden ones (an editor's lock or backup file) left out; an entry that
  // cannot be read is named. Two levels are read, DIR/<kind>/*.json, and no deeper: a link to a
  // large tree is never walked.
  const auto entries = [&](const fs::path& folder) {
    std::vector<fs::directory_entry> out;
    std::error_code err;
    fs::directory_iterator it(folder, err);
    for (; !err && it != fs::directory_iterator(); it.increment(err)) {
      if (!it->path().filename().string().starts_with(".")) {
        out.push_back(*it);
      }
    }
    if (err) {
      throw Error(fmt::format("--configs {}: {}: cannot read: {}", dir.string(), folder.string(),
                              err.message()));
    }
    return out;
  };
  const auto json_named = [](const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return ext == ".json";
  };
  // The folders a catalog directory holds (load_catalog reads each kind).
  const auto is_kind = [](const std::string& name) {
    return name == "gpus" || name == "instances" || name == "models" || name == "constants";
  };
  const auto not_catalog = [&](const fs::path& p) {
    return Error(fmt::format("--configs {}: {}: not in a catalog folder (a catalog directory holds "
                             "gpus/, instances/, models/ and constants/, each of .json files)",
                             dir.string(), p.string()));
  };
  std::vector<SourceFile> files;
  for (const fs::directory_entry& top : entries(dir)) {
    const std::string kind = top.path().filename().string();
    if (!top.is_directory(ec)) {
      if (json_named(top.path())) {
        throw not_catalog(top.path()); // never skip what looks like a catalog file
      }
      continue;
    }
    const bool catalog_kind = is_kind(kind);
    for (const fs::directory_entry& e : entries(top.path())) {
      if (!catalog_kind && e.is_directory(ec) && is_kind(e.path().filename().string())) {
        throw Error(fmt::format("--configs {}: {}: a catalog folder one level down (--configs "
                                "takes the folder that holds gpus/, instances/ and models/)",
                                dir.string(), e.path().string()));
      }
      if (catalog_kind && e.is_directory(ec)) {
        throw Error(fmt::format("--configs {}: {}: a folder inside {}/ (its .json files go in "
                                "{}/ itself)",
                                dir.string(), e.path().string(), kind, kind));
      }
      if (!json_named(e.path())) {
        continue;
      }
      // Never skip what looks like a catalog file: a misplaced, misspelt or unreadable one would
      // otherwise surface later as an unknown name.
      if (!catalog_kind) {
        throw not_catalog(e.path());
      }
      if (e.path().extension() != ".json") {
        throw Error(fmt::format("--configs {}: {}: catalog files end in '.json' (lower case)",
                                dir.string(), e.path().string()));
      }
      if (!e.is_regular_file(ec)) { // a dangling link, a pipe: never skipped silently
        throw Error(
            fmt::format("--configs {}: {}: not a regular file", dir.string(), e.path().string()));
      }
      files.push_back({e.path().string(), read_text_file(e.path())});
    }
  }
  for (const char* kind : {"gpus", "instances", "models"}) {
    const bool any = std::any_of(files.begin(), files.end(), [&](const SourceFile& f) {
      return kind_and_stem(f.path).first == kind;
    });
    if (!any) {
      throw Error(fmt::format("--configs {}: no {}/*.json (a catalog directory holds gpus/, "
                              "instances/ and models/)",
                              dir.string(), kind));
    }
  }
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  return files;
}

ModelSpec resolve_model(const Catalog& catalog, const std::string& arg) {
  if (const ModelSpec* m = catalog.find_model(arg)) {
    return *m;
  }
  const std::filesystem::path p(arg);
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) {
    throw Error(fmt::format("--model '{}': not a preset and no such file{}; see 'bwplan models'",
                            arg, did_you_mean(arg, catalog.model_names())));
  }
  const std::string text = read_text_file(p);
  const nlohmann::json j = io::parse_json(text, arg);
  if (j.is_object() && (j.contains("hidden_size") || j.contains("model_type"))) {
    // Named after the file, or for a config.json after its folder (./config.json too).
    std::string name = p.stem().string();
    if (name == "config") {
      const std::string folder =
          std::filesystem::weakly_canonical(p, ec).parent_path().filename().string();
      name = folder.empty() ? name : folder;
    }
    // The name reaches tables, plans and file names, where check holds it to a model file's
    // rules: refused here, not written into a plan check would refuse.
    const bool too_long = utf8_characters(name) > io::k_max_model_name_chars;
    const bool not_utf8 = !is_utf8(name); // a Latin-1 folder name cannot go into a plan
    const std::string control = io::control_problem(name);
    if (too_long || not_utf8 || !control.empty()) {
      throw Error(fmt::format(
          "--model '{}': the model's name, '{}' from the file's {}, {} (allowed: 1..{} printable "
          "UTF-8 characters); rename it",
          utf8_escaped(arg), utf8_escaped(name), p.stem() == "config" ? "folder" : "name",
          too_long   ? fmt::format("is longer than {} characters", io::k_max_model_name_chars)
          : not_utf8 ? "is not UTF-8 text"
                     : control,
          io::k_max_model_name_chars));
    }
    return io::hf_config_from_json(j, arg, name);
  }
  return io::model_file_from_json(j, arg);
}

} // namespace bwplan
