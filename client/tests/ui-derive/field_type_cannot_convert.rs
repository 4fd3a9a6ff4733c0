struct NotStorable;

#[derive(typedis::Record)]
struct Job {
    id: u64,
    started: NotStorable,
}

fn main() {}
