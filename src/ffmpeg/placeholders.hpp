#pragma once
// Upstream's placeholder engine (restream/replace + resolvePlaceholders), byte for byte:
//   {name}  {name^X}  {name,key=value,...}  {name^X,key=value}   name = [a-z]+ or [a-z]+:[0-9A-Za-z]+
// Parameters run lazily to the first '}', keys/values are URL-query-unescaped, `$processid`,
// `$reference`, `$inputid`/`$outputid` are expanded inside values only. Values with `{key}` holes
// (templates) take parameters or defaults; unknown holes stay. `^X` escapes X (and backslashes) in the
// substituted value for the tee muxer. Placeholders that match no registered name stay literal,
// except `{fs:NAME}`, which becomes empty when NAME is unknown (as upstream).
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ffmpeg/process_config.hpp"

namespace dragon::ffmpeg {

enum class Section { Global, Input, Output };

using TemplateDefaults = std::vector<std::pair<std::string, std::string>>;

// `$name` expansions for parameter values, applied in this order.
struct Vars {
  std::vector<std::pair<std::string_view, std::string_view>> items;
};

class Replacer {
 public:
  using TemplateFn = std::function<std::string(Section)>;

  void register_template(std::string name, std::string value, TemplateDefaults defaults = {});
  void register_template_func(std::string name, TemplateFn fn, TemplateDefaults defaults = {});
  bool has_template(std::string_view name) const;

  // One pass over `str`: each placeholder whose name matches `pattern` (an exact name, or "fs:*")
  // becomes `value`, or the registered template of its name when `value` is empty (empty when there
  // is none). The replaced text is not scanned again by this pass.
  std::string replace(std::string_view str, std::string_view pattern, std::string_view value,
                      const Vars* vars, Section section) const;

 private:
  struct Template {
    TemplateFn fn;
    TemplateDefaults defaults;
  };
  std::map<std::string, Template, std::less<>> templates_;
};

// Fills a template's `{key}` holes from `params` ("k=v,k2=v2", query-unescaped) over `defaults`.
std::string compile_template(std::string_view tmpl, std::string_view params, const Vars* vars,
                             const TemplateDefaults& defaults);

// What upstream registers from its config (app/api/api.go). The caller (restream/) wires config.
struct PlaceholderSettings {
  std::string diskfs;  // absolute path of storage.disk.dir ({diskfs}, {fs:disk})
  std::string memfs;   // memfs base URL ({memfs}, {fs:mem}); see memfs_base_url()
  std::vector<std::pair<std::string, std::string>> filesystems;  // extra {fs:NAME} (S3) → base URL
  std::string rtmp_address = ":1935";  // rtmp.address
  std::string rtmp_app = "/";          // rtmp.app
  std::string rtmp_token;              // rtmp.token
  std::string srt_address = ":6000";   // srt.address
  std::string srt_token;               // srt.token
  std::string srt_passphrase;          // srt.passphrase
};

// "http://[user:pass@]HOST/memfs"; HOST = "localhost:<port>" when `api_address` has no host.
// Credentials are percent-escaped as Go's url.UserPassword does.
std::string memfs_base_url(std::string_view api_address, bool auth_enable, std::string_view username,
                           std::string_view password);
// The same for any HTTP mount ("/memfs", an S3 mountpoint): "http://user:pass@host:port/mount".
std::string mount_base_url(std::string_view api_address, std::string_view mount, bool auth_enable,
                           std::string_view username, std::string_view password);

Replacer make_replacer(const PlaceholderSettings& settings);

// Resolves every field of `config` in upstream's order (ids, then addresses/options/cleanup per IO,
// global options get only {diskfs} and {fs:*}). `config` is the runtime copy; ids of processes are
// never resolved.
void resolve_placeholders(ProcessConfig& config, const Replacer& replacer);

}  // namespace dragon::ffmpeg
