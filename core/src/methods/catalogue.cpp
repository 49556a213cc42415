// The methods as data (distillery/methods.h). Defaults are those of the
// reference implementations named in each entry; docs/METHODS.md gives the
// formulas in full.
#include "distillery/methods.h"

#include "experiment/field_error.h"

#include <cmath>


namespace distillery {

namespace {

using detail::plainNumber;

MethodParam weight(const std::string &key, const std::string &label, double value, const std::string &help)
{
    return {key, label, value, 0.0, 1000.0, false, help};
}

MethodParam standardizeSwitch()
{
    return {"standardize", "Logit standardisation", 0.0, 0.0, 1.0, true,
            "Z-score each row of the student's and the teacher's logits (mean 0, standard deviation 1) before "
            "the softened softmax, so the student matches the teacher's logit relations rather than their scale "
            "(Sun et al., CVPR 2024). The cross-entropy term sees the raw logits."};
}

// Vanilla KD's soft term beside a method's own (0: none).
MethodParam kdWeight()
{
    return weight("kd", "KD weight", 0.0,
                  "Weight of vanilla KD's soft term, T²·KL at distillation.temperature (RepDistiller's -a)");
}

// The weights every feature method has: cross-entropy, vanilla KD and its own term.
std::vector<MethodParam> featureWeights(double beta, const std::string &betaHelp)
{
    return {weight("ce", "CE weight", 1.0, "Weight of the cross-entropy with the labels (RepDistiller's -r)"),
            kdWeight(), {"beta", "Feature weight β", beta, 0.0, 1e5, false, betaHelp}};
}

void addFeatureMethods(std::vector<MethodInfo> &m)
{
    const std::string repDistiller = "; RepDistiller's distiller_zoo";
    auto fitnet = featureWeights(100.0, "Weight of the hint (100 in the reference's settings)");
    fitnet.push_back({"hint_epochs", "Hint epochs", 0.0, 0.0, 10000.0, false,
                      "The paper's first stage, as the first epochs of the student's: the loss is the hint "
                      "term alone, so only the student's layers up to its tap and the regressor learn. 0: none, "
                      "hint and the other terms together from the start (RepDistiller's way)"});
    m.push_back({"fitnet", "FitNets (Romero et al. 2015)",
                 "Romero et al., FitNets: Hints for Thin Deep Nets, ICLR 2015" + repDistiller + "/FitNet.py",
                 "ce·CE(y, s) + kd·KD + β·mean((r(f_s) − f_t)²), r a learned 1×1 convolution with batch norm "
                 "(maps) or a linear layer (vectors), trained with the student and not exported; during the "
                 "first hint_epochs epochs β·mean((r(f_s) − f_t)²) alone",
                 false, fitnet, DefaultTaps::Middle, PairNeeds::SameSize});
    auto at = featureWeights(1000.0, "Weight of the attention term (1000 in the reference's settings)");
    at.push_back({"p", "Power p", 2.0, 1.0, 8.0, false, "Attention map: mean over channels of |f|^p"});
    m.push_back({"at", "Attention transfer (Zagoruyko and Komodakis 2017)",
                 "Zagoruyko and Komodakis, Paying More Attention to Attention, ICLR 2017" + repDistiller +
                     "/AT.py",
                 "ce·CE(y, s) + kd·KD + β·Σ_pairs mean((a(f_s) − a(f_t))²), a(f) = normalize(mean_c f^p) per "
                 "sample; the larger map average-pooled to the smaller",
                 false, at, DefaultTaps::Stages, PairNeeds::Maps});
    m.push_back({"sp", "Similarity-preserving KD (Tung and Mori 2019)",
                 "Tung and Mori, Similarity-Preserving Knowledge Distillation, ICCV 2019" + repDistiller + "/SP.py",
                 "ce·CE(y, s) + kd·KD + β·Σ_pairs ‖normalize(G_t) − normalize(G_s)‖²_F / B², G = F·Fᵀ over the "
                 "batch, rows L2-normalised",
                 false, featureWeights(3000.0, "Weight of the similarity term (3000 in the reference's settings)"),
                 DefaultTaps::Last, PairNeeds::Anything});
    auto rkd = featureWeights(1.0, "Weight of the relational term (1 in the reference's settings)");
    rkd.push_back(weight("distance", "Distance weight", 25.0, "Weight of the distance term w_d"));
    rkd.push_back(weight("angle", "Angle weight", 50.0, "Weight of the angle term w_a"));
    m.push_back({"rkd", "Relational KD (Park et al. 2019)",
                 "Park et al., Relational Knowledge Distillation, CVPR 2019" + repDistiller + "/RKDLoss.py",
                 "ce·CE(y, s) + kd·KD + β·(w_d·smoothL1(ψ_D(s), ψ_D(t)) + w_a·smoothL1(ψ_A(s), ψ_A(t))), ψ_D "
                 "pairwise distances over their mean, ψ_A the cosines of the angles of all triplets",
                 false, rkd, DefaultTaps::Embedding, PairNeeds::Anything});
    m.push_back({"pkt", "Probabilistic knowledge transfer (Passalis and Tefas 2018)",
                 "Passalis and Tefas, Learning Deep Representations with Probabilistic Knowledge Transfer, ECCV "
                 "2018" + repDistiller + "/PKT.py",
                 "ce·CE(y, s) + kd·KD + β·mean(P_t·log((P_t + ε)/(P_s + ε))), P the batch's cosine similarities "
                 "mapped to [0, 1] and normalised per row, ε = 1e-7",
                 false, featureWeights(30000.0, "Weight of the PKT term (30000 in the reference's settings)"),
                 DefaultTaps::Embedding, PairNeeds::Anything});
    auto crd = featureWeights(0.8, "Weight of the contrastive term (0.8 in the reference's settings)");
    crd.push_back({"nce_k", "Negatives K", 16384.0, 1.0, 65536.0, false,
                   "Negatives per example, drawn from the other classes' training rows (with replacement only when "
                   "there are fewer)", true});
    crd.push_back({"nce_t", "NCE temperature", 0.07, 0.001, 10.0, false,
                   "Divides the embeddings' dot products; fixed for the run (the normalising constants are "
                   "computed for it at the first batch)",
                   false, true});
    crd.push_back({"nce_m", "Memory momentum", 0.5, 0.0, 1.0, false,
                   "Each row's memory becomes m·memory + (1 − m)·embedding, normalised, after its batch"});
    crd.push_back({"feat_dim", "Embedding size", 128.0, 1.0, 4096.0, false,
                   "Size of the common space the two embeddings map to", true});
    m.push_back({"crd", "Contrastive representation distillation (Tian et al. 2020)",
                 "Tian, Krishnan and Isola, Contrastive Representation Distillation, ICLR 2020; RepDistiller's "
                 "crd/criterion.py and crd/memory.py",
                 "ce·CE(y, s) + kd·KD + β·(NCE(e_s against the teacher's memory) + NCE(e_t against the student's "
                 "memory)), e = normalize(W·f) learned per model, scores exp(e·m/τ)/Z over the example and K "
                 "negatives of other classes, memories of every training row updated with momentum",
                 false, crd, DefaultTaps::Embedding, PairNeeds::Anything});
}

std::vector<MethodInfo> makeMethods()
{
    std::vector<MethodInfo> m;
    m.push_back({"kd", "Knowledge distillation (Hinton et al. 2015)",
                 "Hinton, Vinyals and Dean, Distilling the Knowledge in a Neural Network (2015)",
                 "α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(y, s)", true, {standardizeSwitch()}});
    m.push_back({"dkd", "Decoupled KD (Zhao et al. 2022)",
                 "Zhao et al., Decoupled Knowledge Distillation, CVPR 2022; mdistiller's distillers/DKD.py",
                 "ce·CE(y, s) + kd·T²·KL(p_t ‖ p_s) + min(epoch/warmup, 1)·(α·TCKD + β·NCKD), where TCKD = "
                 "T²·KL over (target, non-target) probabilities and NCKD = T²·KL among the non-target classes",
                 false,
                 {weight("ce", "CE weight", 1.0, "Weight of the cross-entropy with the labels"),
                  kdWeight(),
                  weight("alpha", "TCKD weight α", 1.0, "Weight of the target-class term"),
                  weight("beta", "NCKD weight β", 8.0,
                         "Weight of the non-target-class term (8 in the reference's CIFAR-100 settings)"),
                  {"warmup", "Warm-up epochs", 20.0, 0.0, 10000.0, false,
                   "The KD terms grow linearly over this many epochs (0: none)"},
                  standardizeSwitch()}});
    m.push_back({"dist", "DIST (Huang et al. 2022)",
                 "Huang et al., Knowledge Distillation from A Stronger Teacher, NeurIPS 2022; DIST_KD's dist_kd.py",
                 "ce·CE(y, s) + kd·T²·KL(p_t ‖ p_s) + T²·(β·(1 − mean over samples of Pearson(p_s, p_t)) + "
                 "γ·(1 − mean over classes of Pearson(p_s, p_t))), with p = softmax(z/T)",
                 false,
                 {weight("ce", "CE weight", 1.0, "Weight of the cross-entropy with the labels"),
                  kdWeight(),
                  weight("beta", "Inter-class weight β", 1.0, "Weight of the per-sample (inter-class) relation"),
                  weight("gamma", "Intra-class weight γ", 1.0, "Weight of the per-class (intra-class) relation")}});
    addFeatureMethods(m);
    MethodInfo dml{"dml", "Deep mutual learning (Zhang et al. 2018)",
                   "Zhang, Xiang, Hospedales and Lu, Deep Mutual Learning, CVPR 2018 (the paper's Eq. 10 with "
                   "simultaneous updates; T = 1 there)",
                   "Σ_k [ce·CE(y, z_k) + β·T²·(1/(K−1))·Σ_{l≠k} KL(softmax(z_l/T) ‖ softmax(z_k/T))], the other "
                   "member's side detached; K students trained together from scratch, no teacher",
                   false,
                   {weight("ce", "CE weight", 1.0, "Weight of each student's cross-entropy with the labels"),
                    weight("beta", "Mutual weight β", 1.0, "Weight of each student's KL to the others (1 in the paper)"),
                    {"students", "Students", 2.0, 2.0, 8.0, false,
                     "The cohort's size K: the student of the Student section and K − 1 more of the same model, "
                     "each from its own initial weights; the first is the run's student (kept, exported), the "
                     "others' test accuracy is in summary.json",
                     true}}};
    dml.online = true;
    m.push_back(std::move(dml));
    return m;
}

} // namespace

std::optional<std::pair<std::string, std::string>> methodSettingsProblem(const DistillConfig &k)
{
    using Problem = std::pair<std::string, std::string>;
    const MethodInfo *method = findMethod(k.method);
    if (!method) {
        std::vector<std::string> names;
        for (const auto &m : distillationMethods())
            names.push_back(m.name);
        const auto near = nearestName(k.method, names);
        std::string all;
        for (const auto &n : names)
            all += (all.empty() ? "" : ", ") + n;
        return Problem{"distillation.method", "unknown method '" + k.method + "'" +
                                                  (near.empty() ? " (available: " + all + ")"
                                                                : "; did you mean '" + near + "'?")};
    }
    if (k.method == "crd" && k.pairs.size() > 1)
        return Problem{"distillation.pairs", "crd contrasts one pair of embeddings (got " +
                                                 std::to_string(k.pairs.size()) + " pairs)"};
    if (!k.pairs.empty() && !method->usesFeatures())
        return Problem{"distillation.pairs", "the method " + k.method + " works on logits alone and pairs no features"};
    for (const auto &[key, value] : k.params) {
        const MethodParam *param = nullptr;
        std::vector<std::string> keys;
        for (const auto &p : method->params) {
            keys.push_back(p.key);
            if (p.key == key)
                param = &p;
        }
        const std::string field = "distillation.params." + key;
        if (!param) {
            const auto near = nearestName(key, keys);
            std::string all;
            for (const auto &n : keys)
                all += (all.empty() ? "" : ", ") + n;
            return Problem{field, "the method " + k.method + " has no such parameter" +
                                      (near.empty() ? (keys.empty() ? std::string(" (it has none)")
                                                                    : " (it has " + all + ")")
                                                    : "; did you mean '" + near + "'?")};
        }
        if (param->whole && value != std::round(value))
            return Problem{field, "is a count: a whole number (got " + plainNumber(value) + ")"};
        if (param->isSwitch && value != 0 && value != 1)
            return Problem{field, "is a switch: true or false (got " + plainNumber(value) + ")"};
        if (!(value >= param->min && value <= param->max))
            return Problem{field, "must be between " + plainNumber(param->min) + " and " + plainNumber(param->max) +
                                      " (got " + plainNumber(value) + ")"};
    }
    return std::nullopt;
}

const std::vector<MethodInfo> &distillationMethods()
{
    static const std::vector<MethodInfo> methods = makeMethods();
    return methods;
}

const MethodInfo *findMethod(const std::string &name)
{
    for (const auto &m : distillationMethods())
        if (m.name == name)
            return &m;
    return nullptr;
}

bool trainsWithoutTeacher(const DistillConfig &config)
{
    const MethodInfo *m = findMethod(config.method);
    return m && m->online;
}

double methodParam(const DistillConfig &config, const std::string &key)
{
    const MethodInfo *m = findMethod(config.method);
    if (!m)
        throw ConfigError("distillation.method: unknown method '" + config.method + "'");
    for (const auto &p : m->params)
        if (p.key == key) {
            const auto it = config.params.find(key);
            return it == config.params.end() ? p.defaultValue : it->second;
        }
    throw ConfigError("distillation.params." + key + ": the method " + config.method + " has no such parameter");
}

} // namespace distillery
