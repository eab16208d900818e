// The errors a running request can end with, and whose fault each is: the
// request's own (its parameters leave nothing to do: the server answers 400
// naming the parameter) or the engine's (500). RequestEvent carries them as
// error and error_param.
#pragma once

#include <string>

#include "engine/generation_request.h"

namespace nucleus {

struct GenerationError {
  std::string message;
  std::string param;  // the request parameter to blame; empty: the engine's failure
};

// No token could be sampled for a row. When the request narrows the
// vocabulary (allowed ids, bans, a grammar or JSON mode (`masked`),
// min_tokens' end-of-generation ban, negative biases), its constraints
// together excluded every token: the request's error, blamed on the first of
// them. Otherwise every logit was -inf or NaN: the model's.
GenerationError no_token_error(const GenerationRequest& spec, bool masked);

// Sets the event's error and error_param.
void set_error(RequestEvent& event, const GenerationError& error);

}  // namespace nucleus
