// `nucleus tokenize`: text -> JSON array of token ids, or with --decode, ids -> text.
//
//   nucleus tokenize --text "Hello world"            [19556, 905]
//   nucleus tokenize --file prompt.txt --special     special-token text becomes those tokens
//   nucleus tokenize --decode --text "[19556,905]"   Hello world   (also "19556 905" or "19556,905")
//
// BOS/EOS are added as the model's metadata says unless --no-bos-eos.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "app/command.h"
#include "config/options.h"
#include "model/gguf.h"
#include "model/tokenizer_gguf.h"
#include "text/tokenizer.h"

namespace nucleus::app {
namespace {


std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("--file: cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "[1, 2, 3]", "1 2 3" or "1,2,3" -> ids; `what` names the option in errors.
std::vector<int32_t> parse_ids(const std::string& input, const std::string& what) {
  std::string body = input;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && body[first] == '[') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(what + ": not a JSON array of token ids: " + e.what());
    }
    std::vector<int32_t> ids;
    for (const auto& v : j) {
      if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX) {
        throw std::runtime_error(what + ": " + v.dump() + " is not a token id");
      }
      ids.push_back(v.get<int32_t>());
    }
    return ids;
  }
  for (char& c : body) {
    if (c == ',') c = ' ';
  }
  std::istringstream in(body);
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long long id = 0;
    try {
      id = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || id < INT32_MIN || id > INT32_MAX) {
      throw std::runtime_error(what + ": \"" + word + "\" is not a token id");
    }
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

struct TokenizeOptions {
  std::string model = config::default_model_path();
  std::string text;
  std::string file;
  bool special = false;
  bool decode = false;
  bool no_bos_eos = false;
  bool skip_special = false;
};

int run(const TokenizeOptions& o) {
  const std::string input = o.file.empty() ? o.text : read_file(o.file);
  const Tokenizer tok = tokenizer_from_gguf(GgufFile::open(o.model));
  if (o.decode) {
    const std::vector<int32_t> ids = parse_ids(input, o.file.empty() ? "--text" : "--file " + o.file);
    for (int32_t id : ids) {
      if (!tok.is_valid_id(id)) {
        throw std::runtime_error("token id " + std::to_string(id) + " is outside the vocabulary of " + o.model + " (" +
                                 std::to_string(tok.vocab_size()) + " tokens)");
      }
    }
    std::cout << tok.decode(ids, {.skip_special_tokens = o.skip_special}) << "\n";
    return 0;
  }
  const auto ids = tok.encode(input, {.add_special = !o.no_bos_eos, .parse_special = o.special});
  std::cout << nlohmann::json(ids).dump() << "\n";
  return 0;
}

NUCLEUS_REGISTER_COMMAND(
    "tokenize", "Text -> JSON array of token ids (or ids -> text with --decode)", [](CLI::App* sub) {
      auto o = std::make_shared<TokenizeOptions>();
      sub->add_option("--model", o->model, "GGUF model file (default $NUCLEUS_MODEL_DIR or ~/.cache/nucleus/models)")
          ->capture_default_str();
      auto* text = sub->add_option("--text", o->text, "the text (with --decode: ids as [1,2,3], \"1 2 3\" or 1,2,3)");
      auto* file = sub->add_option("--file", o->file, "read the text (or the ids) from this file");
      text->excludes(file);
      file->excludes(text);
      sub->add_flag("--special", o->special, "recognise special-token text such as <|im_start|>");
      sub->add_flag("--decode", o->decode, "decode token ids to text instead");
      sub->add_flag("--no-bos-eos", o->no_bos_eos, "do not add BOS/EOS even if the model asks for them");
      sub->add_flag("--skip-special", o->skip_special, "with --decode: leave out control tokens");
      // (main.cc owns the subcommand callback, so the check runs here.)
      return [o, text, file] {
        if (text->count() == 0 && file->count() == 0) throw std::runtime_error("tokenize: give --text or --file");
        return run(*o);
      };
    });

}  // namespace
}  // namespace nucleus::app
