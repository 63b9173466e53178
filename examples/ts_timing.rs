fn main() {
    use lbfleet::evaluator::stats;
    let n = 720;
    let x: Vec<f64> = (0..n).map(|i| i as f64 / 24.0).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 1e10 + 5e8 * (i as f64 / 24.0) + ((i * 7919 % 1000) as f64) * 1e6)
        .collect();
    let mk = stats::mann_kendall(&y);
    let t = std::time::Instant::now();
    let mut r = None;
    for _ in 0..20 {
        r = stats::theil_sen(&x, &y, mk.var_s, stats::Z95);
    }
    println!("theil_sen {:?} per call, {:?}", t.elapsed() / 20, r);
    let t = std::time::Instant::now();
    for _ in 0..20 {
        std::hint::black_box(stats::mann_kendall(&y));
    }
    println!("mann_kendall {:?} per call", t.elapsed() / 20);
}
