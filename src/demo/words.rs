//! The words a believable Chinese company's records are made of: people's names, company
//! names from a city, a trade name and a line of business, regions with their streets, and the
//! things sales people write in their follow-up notes.

use rand::rngs::StdRng;
use rand::Rng;

/// The most common surnames, most frequent first (王, 李, 张 … cover about a third of China).
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "任", "卢", "姚", "沈", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖", "石", "金", "韦", "贾",
    "欧阳", "司马", "上官",
];

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "华", "建华", "建国", "志强", "晓东", "海燕", "丹",
    "鹏", "宇", "浩", "婷", "雪", "琳", "晨", "欣", "俊", "斌", "凯", "瑶", "倩", "嘉怡", "子轩",
    "梓涵", "一鸣", "思远", "文博", "雨桐", "佳琪", "浩然", "晓明", "立新", "国栋", "红梅", "春燕",
    "志刚",
];

/// Cities with their province, area code and a few streets, weighted towards the coast where
/// most B2B customers are.
const CITIES: &[(&str, &str, &str, &[&str])] = &[
    (
        "上海",
        "上海市",
        "021",
        &[
            "浦东新区张江路",
            "徐汇区漕溪北路",
            "闵行区莘庄工业区",
            "静安区南京西路",
        ],
    ),
    (
        "北京",
        "北京市",
        "010",
        &[
            "海淀区中关村大街",
            "朝阳区建国路",
            "丰台区科技园",
            "大兴区亦庄经济开发区",
        ],
    ),
    (
        "深圳",
        "广东省",
        "0755",
        &[
            "南山区科技园",
            "福田区深南大道",
            "宝安区西乡街道",
            "龙岗区坂田街道",
        ],
    ),
    (
        "广州",
        "广东省",
        "020",
        &[
            "天河区珠江新城",
            "黄埔区科学城",
            "番禺区大学城",
            "白云区机场路",
        ],
    ),
    (
        "杭州",
        "浙江省",
        "0571",
        &[
            "西湖区文三路",
            "滨江区江南大道",
            "余杭区未来科技城",
            "萧山区经济开发区",
        ],
    ),
    (
        "宁波",
        "浙江省",
        "0574",
        &["鄞州区天童南路", "北仑区新碶街道", "江北区洪塘工业区"],
    ),
    (
        "苏州",
        "江苏省",
        "0512",
        &["工业园区星湖街", "高新区狮山路", "昆山市开发区"],
    ),
    (
        "南京",
        "江苏省",
        "025",
        &["江宁区胜太路", "鼓楼区中山北路", "雨花台区软件大道"],
    ),
    (
        "无锡",
        "江苏省",
        "0510",
        &["新吴区长江路", "滨湖区蠡湖大道"],
    ),
    (
        "成都",
        "四川省",
        "028",
        &["高新区天府大道", "武侯区人民南路", "锦江区春熙路"],
    ),
    (
        "重庆",
        "重庆市",
        "023",
        &["渝北区金开大道", "江北区观音桥", "九龙坡区科园路"],
    ),
    (
        "武汉",
        "湖北省",
        "027",
        &["东湖高新区光谷大道", "江汉区建设大道", "汉阳区龙阳大道"],
    ),
    (
        "长沙",
        "湖南省",
        "0731",
        &["岳麓区麓谷大道", "雨花区韶山中路"],
    ),
    ("西安", "陕西省", "029", &["高新区锦业路", "雁塔区小寨东路"]),
    (
        "郑州",
        "河南省",
        "0371",
        &["金水区花园路", "郑东新区商务内环路"],
    ),
    ("济南", "山东省", "0531", &["历下区经十路", "高新区舜华路"]),
    (
        "青岛",
        "山东省",
        "0532",
        &["崂山区海尔路", "黄岛区长江中路"],
    ),
    (
        "天津",
        "天津市",
        "022",
        &["滨海新区第三大街", "南开区鞍山西道"],
    ),
    (
        "厦门",
        "福建省",
        "0592",
        &["思明区软件园", "湖里区高新技术园"],
    ),
    (
        "福州",
        "福建省",
        "0591",
        &["鼓楼区五四路", "仓山区金山大道"],
    ),
    (
        "合肥",
        "安徽省",
        "0551",
        &["高新区望江西路", "蜀山区长江西路"],
    ),
    (
        "东莞",
        "广东省",
        "0769",
        &["松山湖高新区", "长安镇工业区", "虎门镇连升路"],
    ),
    (
        "佛山",
        "广东省",
        "0757",
        &["顺德区北滘镇", "南海区桂城街道"],
    ),
    (
        "沈阳",
        "辽宁省",
        "024",
        &["浑南区智慧大街", "和平区南京北街"],
    ),
];

/// Trade names (字号): two characters a founder would choose.
const TRADE: &[&str] = &[
    "华信", "鼎盛", "恒通", "博远", "金石", "天成", "瑞丰", "宏达", "新锐", "东方", "中联", "海纳",
    "卓越", "远航", "汇智", "启明", "合力", "正泰", "嘉禾", "银河", "星辰", "睿达", "德邦", "永信",
    "长城", "明阳", "兴业", "创维", "云帆", "宏图", "安泰", "百川", "凯旋", "联创", "腾飞", "万象",
    "精诚", "盛世", "鸿运", "华夏", "同舟", "朗润", "泰和", "晨光", "聚源", "协和", "通达", "志远",
];

/// Lines of business with the customer industry they belong to.
const TRADES_BY_INDUSTRY: &[(&str, &[&str])] = &[
    (
        "manufacturing",
        &[
            "机械制造",
            "精密模具",
            "汽车零部件",
            "电子科技",
            "新材料",
            "包装制品",
            "塑胶制品",
        ],
    ),
    (
        "it",
        &[
            "信息技术",
            "软件开发",
            "网络科技",
            "数据服务",
            "智能科技",
            "云计算",
        ],
    ),
    ("finance", &["投资管理", "融资租赁", "保险代理", "资产管理"]),
    (
        "retail",
        &["商贸", "连锁超市", "电子商务", "食品贸易", "服饰"],
    ),
    ("education", &["教育科技", "职业培训", "文化传播"]),
    (
        "healthcare",
        &["医疗器械", "生物医药", "健康管理", "医药连锁"],
    ),
    ("government", &["城市建设投资", "公共服务", "产业园区管理"]),
    (
        "other",
        &["物流", "建筑工程", "广告传媒", "环保科技", "餐饮管理"],
    ),
];

const LEGAL_FORMS: &[&str] = &[
    "有限公司",
    "有限公司",
    "有限公司",
    "股份有限公司",
    "集团有限公司",
];

/// Latin syllables for mail domains and WeChat ids.
const SYLLABLES: &[&str] = &[
    "hua", "xin", "tai", "long", "feng", "jia", "hong", "sheng", "da", "tian", "ming", "yuan",
    "cheng", "kai", "rui", "tong", "hai", "xing", "bo", "an", "he", "jin", "heng", "yun",
];

const TITLES: &[&str] = &[
    "总经理",
    "副总经理",
    "采购经理",
    "采购主管",
    "技术总监",
    "财务经理",
    "行政主管",
    "IT 经理",
    "项目经理",
    "运营总监",
    "董事长助理",
    "销售总监",
];

const FOLLOWUP_NOTES: &[&str] = &[
    "电话沟通了年度采购计划，客户预计下季度启动招标",
    "上门拜访，演示了产品功能，客户对报表模块很感兴趣",
    "发送了报价单和产品资料，等待客户内部评审",
    "客户反馈价格偏高，约定下周再谈折扣方案",
    "参加客户项目启动会，确认了实施范围和时间表",
    "微信跟进合同条款，法务在审核付款方式",
    "客户的技术负责人提出对接 ERP 的需求，需要我方出方案",
    "回访使用情况，客户满意，有意向增购账号",
    "展会上认识的新联系人，留下了名片，需要再次电话确认需求",
    "催收第二期回款，财务说本月底前安排付款",
    "客户内部组织调整，新的采购负责人需要重新建立关系",
    "竞争对手也在接触该客户，对方报价低百分之十",
    "与客户总经理共进午餐，谈到明年的扩产计划",
    "邮件确认了交付日期，客户要求提前一周到货",
    "培训了客户的五位关键用户，现场答疑两个小时",
];

const OPPORTUNITY_KINDS: &[&str] = &[
    "年度采购项目",
    "系统升级项目",
    "新厂区设备采购",
    "软件许可续约",
    "集团信息化建设",
    "售后服务合同",
    "数据中心扩容",
    "门店数字化改造",
    "二期扩展项目",
    "试点项目",
];

const COMPETITORS: &[&str] = &[
    "销售易",
    "纷享销客",
    "悟空CRM",
    "Salesforce",
    "用友",
    "金蝶",
    "本地代理商",
];

const TASK_TITLES: &[&str] = &[
    "准备报价单",
    "安排产品演示",
    "回访客户使用情况",
    "跟进合同审批",
    "催收回款",
    "整理客户需求文档",
    "预约上门拜访",
    "发送节日问候",
    "更新客户联系人信息",
    "确认交付计划",
];

const TAGS: &[&str] = &[
    "重点客户",
    "老客户",
    "渠道",
    "招投标",
    "VIP",
    "潜力大",
    "价格敏感",
    "决策链长",
];

/// Products a company like this sells: name, category, unit, list price in yuan.
pub const PRODUCTS: &[(&str, &str, &str, i64)] = &[
    ("客户管理系统 标准版", "software", "licence", 19_800),
    ("客户管理系统 企业版", "software", "licence", 59_800),
    ("移动销售 App 账号", "subscription", "year", 1_200),
    ("数据分析模块", "software", "licence", 15_000),
    ("实施服务", "service", "day", 3_000),
    ("定制开发", "service", "day", 4_000),
    ("年度运维服务", "service", "year", 12_000),
    ("培训服务", "service", "day", 2_500),
    ("服务器 双路", "hardware", "unit", 42_000),
    ("条码打印机", "hardware", "unit", 3_600),
    ("手持终端 PDA", "hardware", "unit", 2_800),
    ("云存储 1TB", "subscription", "year", 1_800),
    ("短信通知包 10 万条", "subscription", "set", 4_500),
    ("接口对接服务", "service", "set", 20_000),
    ("门店收银系统", "software", "set", 8_800),
];

pub const LOST_REASONS: &[&str] = &[
    "价格没有竞争力",
    "客户预算取消",
    "选择了竞争对手",
    "需求不匹配",
];
pub const WIN_REASONS: &[&str] = &["方案契合度高", "服务响应快", "老客户推荐", "价格合理"];

/// One of `list`, for lists of words.
pub fn one(rng: &mut StdRng, list: &[&'static str]) -> &'static str {
    list[rng.random_range(0..list.len())]
}

pub fn pick<'a, T>(rng: &mut StdRng, list: &'a [T]) -> &'a T {
    &list[rng.random_range(0..list.len())]
}

/// A surname drawn so that the common ones are common (two draws, keep the earlier).
pub fn person(rng: &mut StdRng) -> String {
    let a = rng.random_range(0..SURNAMES.len());
    let b = rng.random_range(0..SURNAMES.len());
    format!("{}{}", SURNAMES[a.min(b)], pick(rng, GIVEN))
}

pub struct Company {
    pub name: String,
    pub industry: &'static str,
    pub region: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub website: String,
}

/// Every (city, trade name, line of business) once, then again as branch offices in each city:
/// more than a million distinct names.
fn name_space() -> u64 {
    let lines: usize = TRADES_BY_INDUSTRY.iter().map(|(_, l)| l.len()).sum();
    (CITIES.len() * TRADE.len() * lines * (CITIES.len() + 1)) as u64
}

/// Company number `serial` of a run seeded `seed`: city + trade name + line of business + legal
/// form (杭州华信软件开发有限公司), a branch office once the plain names are used up. An affine
/// permutation of the name space makes serials map to distinct but unordered names, so a
/// million companies pass the duplicate check (name, phone and email are all unique).
pub fn company(rng: &mut StdRng, serial: u64, seed: u64) -> Company {
    let space = name_space();
    // 1,000,003 is prime and does not divide the space, so this is a bijection.
    let mut y = (serial.wrapping_mul(1_000_003) + seed) % space;
    let (city, province, area, streets) = CITIES[(y % CITIES.len() as u64) as usize];
    y /= CITIES.len() as u64;
    let trade = TRADE[(y % TRADE.len() as u64) as usize];
    y /= TRADE.len() as u64;
    let lines: Vec<(&'static str, &'static str)> = TRADES_BY_INDUSTRY
        .iter()
        .flat_map(|(industry, lines)| lines.iter().map(move |l| (*industry, *l)))
        .collect();
    let (industry, line) = lines[(y % lines.len() as u64) as usize];
    y /= lines.len() as u64;
    let branch = match y as usize {
        0 => String::new(),
        k => format!("{}分公司", CITIES[k - 1].0),
    };
    let form = pick(rng, LEGAL_FORMS);
    let region = if province == format!("{city}市") {
        province.to_string()
    } else {
        format!("{province}{city}市")
    };
    let domain = format!(
        "{}{}{serial}.com.cn",
        pick(rng, SYLLABLES),
        pick(rng, SYLLABLES)
    );
    Company {
        name: format!("{city}{trade}{line}{form}{branch}"),
        industry,
        address: format!("{}{}号", pick(rng, streets), rng.random_range(1..=999)),
        phone: format!(
            "{area}-{}",
            50_000_000 + (serial * 7_919 + seed) % 40_000_000
        ),
        email: format!("info@{domain}"),
        website: format!("https://www.{domain}"),
        region,
    }
}

/// A lead's company: the same kind of name, without the uniqueness a customer needs.
pub fn lead_company(rng: &mut StdRng) -> (String, &'static str, String) {
    let (city, province, _, _) = pick(rng, CITIES);
    let (industry, lines) = pick(rng, TRADES_BY_INDUSTRY);
    let name = format!(
        "{city}{}{}{}",
        pick(rng, TRADE),
        pick(rng, lines),
        pick(rng, LEGAL_FORMS)
    );
    (name, industry, format!("{province}{city}"))
}

pub fn mobile(rng: &mut StdRng) -> String {
    let prefix = pick(
        rng,
        &[
            "138", "139", "136", "135", "150", "151", "186", "188", "177", "199",
        ],
    );
    format!("{prefix}{:08}", rng.random_range(0..100_000_000))
}

pub fn wechat(rng: &mut StdRng, serial: u64) -> String {
    format!("{}_{}{serial}", pick(rng, SYLLABLES), pick(rng, SYLLABLES))
}

pub fn title(rng: &mut StdRng) -> &'static str {
    one(rng, TITLES)
}

pub fn followup_note(rng: &mut StdRng) -> &'static str {
    one(rng, FOLLOWUP_NOTES)
}

pub fn opportunity_name(rng: &mut StdRng, customer: &str) -> String {
    let short: String = customer.chars().take(6).collect();
    format!("{short}{}", pick(rng, OPPORTUNITY_KINDS))
}

pub fn competitor(rng: &mut StdRng) -> &'static str {
    one(rng, COMPETITORS)
}

pub fn task_title(rng: &mut StdRng) -> &'static str {
    one(rng, TASK_TITLES)
}

pub fn tags(rng: &mut StdRng) -> Vec<&'static str> {
    match rng.random_range(0..10) {
        0..=5 => vec![],
        6..=8 => vec![*pick(rng, TAGS)],
        _ => vec![*pick(rng, TAGS), *pick(rng, TAGS)],
    }
}

/// A tax number (统一社会信用代码) of the right shape.
pub fn tax_number(rng: &mut StdRng) -> String {
    format!(
        "91{:06}MA{:08}",
        rng.random_range(110_000..660_000),
        rng.random_range(0..100_000_000)
    )
}
