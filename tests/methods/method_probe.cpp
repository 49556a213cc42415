// A method's loss on given logits, for tests/python/test_methods.py: reads one
// JSON object per line on stdin,
//   {"method", "temperature", "alpha", "params": {...}, "epoch",
//    "classes", "student": [...], "teacher": [...], "labels": [...]}
// (logits row-major), and prints one per line:
//   {"total", "parts": {name: value}, "grad": [...]} or {"error": message}.
#include "distillery/kd.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

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
            const auto r = distillery::methodLoss(c, in.at("student").get<std::vector<double>>(),
                                                  in.at("teacher").get<std::vector<double>>(),
                                                  in.at("labels").get<std::vector<std::int64_t>>(),
                                                  in.at("classes").get<int>(), in.value("epoch", 1));
            out["total"] = r.total;
            out["parts"] = nlohmann::json::object();
            for (const auto &[name, value] : r.parts)
                out["parts"][name] = value;
            out["grad"] = r.studentGradient;
        } catch (const std::exception &e) {
            out = {{"error", e.what()}};
        }
        std::cout << out.dump() << std::endl;
    }
    return 0;
}
