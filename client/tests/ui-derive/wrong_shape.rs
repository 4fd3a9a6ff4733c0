#[derive(typedis::Scalar)]
struct Point {
    x: i64,
}

#[derive(typedis::Scalar)]
enum Shape {
    Circle(f64),
    Square,
}

#[derive(typedis::Record)]
struct Id(u64);

#[derive(typedis::Record)]
enum Color {
    Red,
}

fn main() {}
