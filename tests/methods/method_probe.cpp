// A method's loss on given logits, for tests/python/test_methods.py: reads one
// JSON object per line on stdin,
//   {"method", "temperature", "alpha", "params": {...}, "epoch",
//    "classes", "student": [...], "teacher": [...], "labels": [...],
//    "pairs": [{"teacher", "student"}], "student_features": [{"name", "shape", "values"}],
//    "teacher_features": [...]}
// or, for several teachers, "teachers": [[...], ...] and "weights": [...]
// in place of "teacher" (multiTeacherLoss), or for Deep Mutual Learning
// "cohort": [[...], ...] in place of "student" and "teacher" (mutualLearningLoss),
// (logits and features row-major; pairs and features for feature methods), and
// prints one per line:
//   {"total", "parts": {name: value}, "grad": [...], "peer_grads": [[...]], "feature_grads": {name: [...]},
//    "adapters": {name: {"shape", "values"}}, "buffers", "buffers_after", "draws": the same}
// or {"error": message}.
#include "distillery/kd.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

namespace {

std::vector<distillery::NamedArray> arrays(const nlohmann::json &in, const char *key)
{
    std::vector<distillery::NamedArray> out;
    for (const auto &f : in.value(key, nlohmann::json::array()))
        out.push_back({f.at("name").get<std::string>(), f.at("shape").get<std::vector<std::int64_t>>(),
                       f.at("values").get<std::vector<double>>()});
    return out;
}

} // namespace

int main()
{
    std::cout.precision(17);
    for (std::string line; std::getline(std::cin, line);) {
        nlohmann::json out;
        try {
            const auto in = nlohmann::json::parse(line);
            distillery::DistillConfig c;
            c.method = in.at("method").get<std::string>();
            c.temperature = in.at("temperature").get<double>();
            c.alpha = in.value("alpha", 0.5);
            const auto params = in.value("params", nlohmann::json::object());
            for (const auto &[key, value] : params.items())
                c.params[key] = value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : value.get<double>();
            for (const auto &p : in.value("pairs", nlohmann::json::array()))
                c.pairs.push_back({p.at("teacher").get<std::string>(), p.at("student").get<std::string>()});
            const auto r =
                in.contains("cohort")
                    ? distillery::mutualLearningLoss(c, in.at("cohort").get<std::vector<std::vector<double>>>(),
                                                     in.at("labels").get<std::vector<std::int64_t>>(),
                                                     in.at("classes").get<int>())
                : in.contains("teachers")
                    ? distillery::multiTeacherLoss(c, in.at("student").get<std::vector<double>>(),
                                                   in.at("teachers").get<std::vector<std::vector<double>>>(),
                                                   in.at("weights").get<std::vector<double>>(),
                                                   in.at("labels").get<std::vector<std::int64_t>>(),
                                                   in.at("classes").get<int>())
                    : distillery::methodLoss(c, in.at("student").get<std::vector<double>>(),
                                             in.at("teacher").get<std::vector<double>>(),
                                             in.at("labels").get<std::vector<std::int64_t>>(),
                                             in.at("classes").get<int>(), in.value("epoch", 1),
                                             arrays(in, "student_features"), arrays(in, "teacher_features"));
            out["total"] = r.total;
            out["parts"] = nlohmann::json::object();
            for (const auto &[name, value] : r.parts)
                out["parts"][name] = value;
            out["grad"] = r.studentGradient;
            out["feature_grads"] = nlohmann::json::object();
            for (const auto &g : r.featureGradients)
                out["feature_grads"][g.name] = g.values;
            out["peer_grads"] = r.peerGradients;
            out["adapters"] = nlohmann::json::object();
            for (const auto &a : r.adapterParameters)
                out["adapters"][a.name] = {{"shape", a.shape}, {"values", a.values}};
            for (const auto &[key, list] : {std::pair{"buffers", &r.adapterBuffers},
                                            std::pair{"buffers_after", &r.adapterBuffersAfter},
                                            std::pair{"draws", &r.draws}}) {
                out[key] = nlohmann::json::object();
                for (const auto &a : *list)
                    out[key][a.name] = {{"shape", a.shape}, {"values", a.values}};
            }
        } catch (const std::exception &e) {
            out = {{"error", e.what()}};
        }
        std::cout << out.dump() << std::endl;
    }
    return 0;
}
